package oauthkit

import (
	"net"
	"strconv"
	"strings"
)

// MatchRedirectURI reports whether requested matches the registered
// redirection URI registered: by simple string comparison (RFC 9700 §4.1.3,
// RFC 3986 §6.2.1), with one exception when native is set: for a registered
// http URI whose host is a loopback IP literal (127.0.0.1 or [::1]), any
// port is accepted, since native apps listen on an ephemeral port
// (RFC 8252 §7.3). The name "localhost" gets no such exception
// (RFC 8252 §8.3). The server sets native for public clients only: a
// confidential (web) client's loopback URI is matched exactly like any other.
func MatchRedirectURI(registered, requested string, native bool) bool {
	if registered == requested {
		return true
	}
	if !native {
		return false
	}
	regHost, _, regRest, ok1 := splitLoopbackURL(registered)
	reqHost, _, reqRest, ok2 := splitLoopbackURL(requested)
	return ok1 && ok2 && regHost == reqHost && regRest == reqRest
}

// splitLoopbackURL splits an http URL whose host is a loopback IP literal
// into that host, its port and the rest of the URL (path, query, fragment).
func splitLoopbackURL(raw string) (host, port, rest string, ok bool) {
	s, found := strings.CutPrefix(raw, "http://")
	if !found {
		return "", "", "", false
	}
	i := strings.IndexAny(s, "/?#")
	if i < 0 {
		i = len(s)
	}
	authority := s[:i]
	rest = s[i:]
	host, port, err := net.SplitHostPort(authority)
	switch {
	case err != nil && authority == "127.0.0.1":
		host, port = authority, ""
	case err != nil && authority == "[::1]":
		host, port = "::1", ""
	case err != nil:
		return "", "", "", false
	default:
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || strings.Trim(port, "0123456789") != "" {
			return "", "", "", false
		}
	}
	if !isLoopbackIP(host) {
		return "", "", "", false
	}
	return host, port, rest, true
}

// isLoopbackIP reports whether host is one of the loopback IP literals
// RFC 8252 §7.3 names.
func isLoopbackIP(host string) bool { return host == "127.0.0.1" || host == "::1" }

// isLoopbackHost reports whether host is a loopback IP or "localhost"; used
// only to allow http issuers in development.
func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// resolveRedirectURI returns the redirect URI to use for a request: the
// requested one if it matches a registered one, or the single registered URI
// if none was requested (RFC 6749 §3.1.2.3).
func resolveRedirectURI(client *Client, requested string) (string, bool) {
	if requested == "" {
		if len(client.RedirectURIs) == 1 {
			return client.RedirectURIs[0], true
		}
		return "", false
	}
	for _, reg := range client.RedirectURIs {
		if MatchRedirectURI(reg, requested, client.Public()) {
			return requested, true
		}
	}
	return "", false
}
