package auth

import "gatehouse/models"

// Client describes where a request comes from, for throttling, the
// session list and the security log.
type Client struct {
	IP        string
	UserAgent string
}

// cliClient is where CLI actions come from in the security log.
func cliClient() Client { return Client{UserAgent: "gatehouse CLI"} }

// ip and userAgent are the client's IP and User-Agent as a row stores
// them (the columns' sizes).
func (c Client) ip() string        { return models.Truncate(c.IP, 64) }
func (c Client) userAgent() string { return models.Truncate(c.UserAgent, 512) }
