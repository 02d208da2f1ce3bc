package oauthkit

import (
	"net/url"
	"slices"
	"strings"
)

// validResource reports whether v is a resource indicator RFC 8707 §2
// allows: an absolute URI without a fragment. (A query is allowed, though
// the RFC advises against one.)
func validResource(v string) bool {
	u, err := url.Parse(v)
	return err == nil && u.IsAbs() && u.Fragment == "" && !strings.Contains(v, "#") &&
		!strings.ContainsAny(v, " \"<>\\^`{|}")
}

// resolveResources checks the resource parameters of a request
// (RFC 8707 §2) for client: each must be a valid resource indicator that
// the client may ask for (Config.Resources or Client.Resources). It returns
// the resources, without repeats, or invalid_target; nil if none were
// requested. That a token request only narrows what an authorization
// granted is checked where the grant is known (Server.audiences).
func (s *Server) resolveResources(client *Client, requested []string) ([]string, *Error) {
	if len(requested) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(requested))
	for _, r := range requested {
		switch {
		case !validResource(r):
			return nil, ErrInvalidTarget.WithDescription("a resource is not an absolute URI without a fragment")
		case !slices.Contains(s.cfg.Resources, r) && !slices.Contains(client.Resources, r):
			return nil, ErrInvalidTarget.WithDescription("the resource %s is not one this client may ask for", r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}
