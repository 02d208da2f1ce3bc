package bearer

import (
	"errors"
	"net"
	"net/url"
)

// checkEndpoint checks that raw is an absolute https URL, or http for a
// loopback host (for development and tests), as token validation must not
// depend on responses an attacker on the network could forge.
func checkEndpoint(field, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return errors.New("bearer: " + field + " is required")
	case err != nil || u.Host == "" || u.Fragment != "" || u.User != nil:
		return errors.New("bearer: " + field + " must be an absolute URL with no fragment or user info")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	default:
		return errors.New("bearer: " + field + " must use https (http only for loopback hosts)")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
