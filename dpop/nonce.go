package dpop

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// DefaultNoncePeriod is the period of Nonces when NewNonces is given zero.
const DefaultNoncePeriod = 5 * time.Minute

// Nonces issues and checks server nonces (RFC 9449 §8, §9) without state:
// the nonce of a time window of one period is an HMAC-SHA256, under a key
// that every instance of the server holds, of the window's number. A nonce
// is accepted in its window and in the next one, so for one to two
// periods after it is first issued; instances whose clocks differ by less
// than a period accept each other's nonces. A client whose nonce has
// expired is answered use_dpop_nonce with the current one, and retries.
//
// A Nonces is a NonceChecker, for Config.Nonces. It is safe for concurrent
// use.
type Nonces struct {
	key    []byte
	period time.Duration
}

// NewNonces returns Nonces under key, which must have 32 bytes at least and
// be secret and random, and be the same on every instance. Period zero
// means DefaultNoncePeriod; otherwise it must be a second at least. To
// change keys, restart every instance: nonces under the old key are
// refused, and their clients retry with a new one.
func NewNonces(key []byte, period time.Duration) (*Nonces, error) {
	switch {
	case len(key) < 32:
		return nil, errors.New("dpop: a nonce key must have 32 bytes at least")
	case period == 0:
		period = DefaultNoncePeriod
	case period < time.Second:
		return nil, errors.New("dpop: a nonce period must be a second at least")
	}
	return &Nonces{key: append([]byte(nil), key...), period: period}, nil
}

// Nonce returns the nonce to send at now in a DPoP-Nonce header.
func (n *Nonces) Nonce(now time.Time) string {
	return n.nonce(n.window(now))
}

// CheckNonce reports whether nonce is the nonce of now's window or of the
// window before. It never fails.
func (n *Nonces) CheckNonce(_ context.Context, nonce string, now time.Time) (bool, error) {
	if len(nonce) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return false, nil
	}
	w := n.window(now)
	cur := hmac.Equal([]byte(nonce), []byte(n.nonce(w)))
	prev := hmac.Equal([]byte(nonce), []byte(n.nonce(w-1)))
	return cur || prev, nil
}

// window returns the number of the window of now: floor(now / period) in
// Unix time.
func (n *Nonces) window(now time.Time) int64 {
	t := now.UnixNano()
	w := t / int64(n.period)
	if t < 0 && t%int64(n.period) != 0 {
		w--
	}
	return w
}

func (n *Nonces) nonce(window int64) string {
	m := hmac.New(sha256.New, n.key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(window))
	m.Write([]byte("oauthkit dpop nonce\x00"))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
