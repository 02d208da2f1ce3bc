package bearer

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
)

// call is one fetch whose result every caller that asked for it while it ran
// waits for, so that concurrent requests cause one fetch, not a stampede.
//
// The fetch runs under ctx, the call's own context: it keeps the values of
// the context the call was started from but not its cancellation, since the
// caller that happened to start it is only one of those waiting. Instead,
// callers that join the call are counted, and when the last of them leaves
// because its own context ended, ctx is cancelled: the call is abandoned,
// and the fetch can stop, as nobody wants its result. A call that nobody
// joined, such as a key set refresh started in the background, is never
// abandoned.
type call[T any] struct {
	done chan struct{} // closed when val and err are set
	val  T
	err  error

	ctx    context.Context    // the fetch's context
	cancel context.CancelFunc // cancels ctx: on abandonment, or once done

	mu        sync.Mutex
	waiters   int  // callers that joined and have not left
	abandoned bool // the last waiter left before the call was done
}

// newCall returns a call whose context carries parent's values.
func newCall[T any](parent context.Context) *call[T] {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &call[T]{done: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// join counts one more waiter, who must then wait. It reports false if the
// call has been abandoned: the caller must start a call of its own.
func (c *call[T]) join() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.abandoned {
		return false
	}
	c.waiters++
	return true
}

// leave uncounts a waiter; the last one to leave abandons the call.
func (c *call[T]) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waiters == 0 { // not joined: nothing to count
		return
	}
	c.waiters--
	if c.waiters == 0 {
		c.abandoned = true
		c.cancel()
	}
}

// wait returns the call's result, or ctx's error if ctx ends first: the
// caller then leaves the call, which goes on for the other waiters, if any.
func (c *call[T]) wait(ctx context.Context) (T, error) {
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
	}
	select {
	case <-c.done: // both were ready: the result is worth more
		return c.val, c.err
	default:
	}
	c.leave()
	var zero T
	return zero, ctx.Err()
}

// finish completes the call with val and err and releases its context.
func (c *call[T]) finish(val T, err error) {
	c.val, c.err = val, err
	close(c.done)
	c.cancel()
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
