package bearer

import (
	"context"
	"errors"
	"net"
	"net/url"
)

// call is one fetch whose result every caller that asked for it while it ran
// waits for, so that concurrent requests cause one fetch, not a stampede.
type call[T any] struct {
	done chan struct{} // closed when val and err are set
	val  T
	err  error
}

func newCall[T any]() *call[T] { return &call[T]{done: make(chan struct{})} }

// wait returns the call's result, or ctx's error if ctx ends first. The
// fetch itself goes on for the other callers.
func (c *call[T]) wait(ctx context.Context) (T, error) {
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

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
