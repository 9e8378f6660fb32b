package templates

import "strings"

// browserRules name a client by the first product token found in its
// User-Agent. Order matters: Edge, Opera, Samsung Internet and Vivaldi
// also say "Chrome/", Chrome also says "Safari/", and Chrome on iOS says
// "CriOS/". Written here rather than taken from a library: the pages show
// a readable label, not analytics, and these twenty rules cover the
// browsers and tools people use; anything else reads "Unknown browser"
// and the page shows the full header beside it.
var browserRules = []struct{ token, name string }{
	{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
	{"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"}, {"Vivaldi/", "Vivaldi"},
	{"YaBrowser/", "Yandex Browser"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
	{"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
	{"PostmanRuntime/", "Postman"}, {"curl/", "curl"}, {"Wget/", "Wget"}, {"HTTPie/", "HTTPie"},
	{"python-requests/", "Python requests"}, {"Go-http-client/", "Go HTTP client"}, {"okhttp/", "OkHttp"},
	{"node-fetch/", "node-fetch"}, {"axios/", "axios"},
}

// osRules name the platform. iOS before macOS ("like Mac OS X"), Android
// and ChromeOS before Linux.
var osRules = []struct{ token, name string }{
	{"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"}, {"CrOS", "ChromeOS"},
	{"Windows", "Windows"}, {"Macintosh", "macOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
}

// browserName turns a User-Agent header into a label such as
// "Firefox 128 on Linux" or "curl 8".
func browserName(ua string) string {
	if strings.TrimSpace(ua) == "" {
		return "Unknown client"
	}
	name := ""
	for _, r := range browserRules {
		if i := strings.Index(ua, r.token); i >= 0 {
			name = r.name
			if v := majorVersion(ua[i+len(r.token):]); v != "" {
				name += " " + v
			}
			break
		}
	}
	if name == "" && strings.Contains(ua, "Safari/") {
		name = "Safari"
		if i := strings.Index(ua, "Version/"); i >= 0 {
			if v := majorVersion(ua[i+len("Version/"):]); v != "" {
				name += " " + v
			}
		}
	}
	if name == "" {
		name = "Unknown browser"
	}
	for _, r := range osRules {
		if strings.Contains(ua, r.token) {
			return name + " on " + r.name
		}
	}
	return name
}

// majorVersion is the leading digits of s.
func majorVersion(s string) string {
	end := 0
	for end < len(s) && end < 6 && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	return s[:end]
}
