// Package flight shares one fetch among the concurrent requests that need
// its result, so that they cause one fetch, not a stampede: the remote key
// sets of package jwks and the introspection calls of package bearer.
package flight

import (
	"context"
	"sync"
)

// Call is one fetch whose result every caller that asked for it while it ran
// waits for.
//
// The fetch runs under Ctx, the call's own context: it keeps the values of
// the context the call was started from but not its cancellation, since the
// caller that happened to start it is only one of those waiting. Instead,
// callers that join the call are counted, and when the last of them leaves
// because its own context ended, Ctx is cancelled: the call is abandoned,
// and the fetch can stop, as nobody wants its result. A call that nobody
// joined, such as a key set refresh started in the background, is never
// abandoned.
type Call[T any] struct {
	// Ctx is the fetch's context.
	Ctx context.Context

	done   chan struct{} // closed when val and err are set
	val    T
	err    error
	cancel context.CancelFunc // cancels Ctx: on abandonment, or once done

	mu        sync.Mutex
	waiters   int  // callers that joined and have not left
	abandoned bool // the last waiter left before the call was done
}

// New returns a call whose context carries parent's values.
func New[T any](parent context.Context) *Call[T] {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &Call[T]{Ctx: ctx, done: make(chan struct{}), cancel: cancel}
}

// Join counts one more waiter, who must then Wait. It reports false if the
// call has been abandoned: the caller must start a call of its own.
func (c *Call[T]) Join() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.abandoned {
		return false
	}
	c.waiters++
	return true
}

// Waiters returns how many callers have joined the call and not left.
func (c *Call[T]) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiters
}

// leave uncounts a waiter; the last one to leave abandons the call.
func (c *Call[T]) leave() {
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

// Wait returns the call's result, or ctx's error if ctx ends first: the
// caller then leaves the call, which goes on for the other waiters, if any.
func (c *Call[T]) Wait(ctx context.Context) (T, error) {
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

// Finish completes the call with val and err and releases its context.
func (c *Call[T]) Finish(val T, err error) {
	c.val, c.err = val, err
	close(c.done)
	c.cancel()
}
