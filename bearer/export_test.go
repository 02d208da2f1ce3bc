package bearer

import "crypto/sha256"

// Waiters returns how many requests wait for the introspection call in
// progress for token: for tests that must know that requests have joined
// a call before they act.
func (v *Introspection) Waiters(token string) int {
	v.mu.Lock()
	c := v.calls[sha256.Sum256([]byte(token))]
	v.mu.Unlock()
	if c == nil {
		return 0
	}
	return c.Waiters()
}
