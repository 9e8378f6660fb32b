package handlers

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"
)

// openAPIFile is the OpenAPI 3 description of every /api route, written by
// hand. tests/openapi_test.go keeps it honest: every /api route in the
// route table is in it and everything in it is routed, it validates, and
// the contract tests check real responses against it.
//
//go:embed openapi.json
var openAPIFile []byte

// apiDocs serves GET /docs and GET /openapi.json to anyone. A browser gets
// Swagger UI, which loads the document from /openapi.json and calls the API
// with the browser's session cookie; a JSON client gets the document itself
// (contract §3 lists it as the twin of /docs).
//
// The page keeps the app's strict Content-Security-Policy: Swagger UI's
// start-up code is /static/js/docs.js rather than an inline script, and
// Swagger UI 5 sets its styles through the DOM, which style-src does not
// govern (the Chromium tests fail on any CSP violation).
func (h *handler) apiDocs(c echo.Context) error {
	if wantsJSON(c.Request()) {
		return c.JSONBlob(http.StatusOK, h.openAPI)
	}
	return c.Render(http.StatusOK, "docs.html", nil)
}

// openAPIDocument returns the document as served: openapi.json with what
// only the configuration knows. Its first server stays the relative "/", so
// Swagger UI calls the origin it was loaded from and the browser's cookie
// goes along even when BASE_URL names the host differently (localhost vs
// 127.0.0.1); BASE_URL follows as the second server, for tools that import
// the document. The cookie security scheme gets the cookie's real name.
func openAPIDocument(baseURL, cookieName string) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(openAPIFile, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	servers, err := json.Marshal([]map[string]string{
		{"url": "/", "description": "This server"},
		{"url": baseURL, "description": "BASE_URL"},
	})
	if err != nil {
		return nil, err
	}
	doc["servers"] = servers

	var components map[string]json.RawMessage
	if err := json.Unmarshal(doc["components"], &components); err != nil {
		return nil, fmt.Errorf("openapi.json components: %w", err)
	}
	var schemes map[string]map[string]any
	if err := json.Unmarshal(components["securitySchemes"], &schemes); err != nil {
		return nil, fmt.Errorf("openapi.json securitySchemes: %w", err)
	}
	cookie, ok := schemes["session"]
	if !ok {
		return nil, fmt.Errorf("openapi.json: no session security scheme")
	}
	cookie["name"] = cookieName
	if components["securitySchemes"], err = json.Marshal(schemes); err != nil {
		return nil, err
	}
	if doc["components"], err = json.Marshal(components); err != nil {
		return nil, err
	}
	return marshalOrdered(doc, "openapi", "info", "servers", "tags", "paths", "components")
}

// marshalOrdered writes an object with the keys in first in that order and
// the rest sorted: encoding/json sorts map keys, and a reader of the
// document expects "openapi" and "info" at the top.
func marshalOrdered(obj map[string]json.RawMessage, first ...string) ([]byte, error) {
	keys := make([]string, 0, len(obj))
	placed := map[string]bool{}
	for _, k := range first {
		if _, ok := obj[k]; ok {
			keys = append(keys, k)
			placed[k] = true
		}
	}
	var rest []string
	for k := range obj {
		if !placed[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	keys = append(keys, rest...)

	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(obj[k])
	}
	buf.WriteByte('}')
	var out bytes.Buffer
	if err := json.Compact(&out, buf.Bytes()); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
