package jwt

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	jose "github.com/go-jose/go-jose/v4"
)

// JWKSMaxAge is how long, in seconds, JWKSHandler lets clients cache the key
// set. A relying party that meets an unknown kid refetches the set at once
// (OpenID Connect Core §10.1.1), so a new active key is usable right away;
// a retired key may linger in caches this long.
const JWKSMaxAge = 300

// KeySet holds one active signing key and older keys kept for verification
// only, so that keys can be rotated without invalidating the tokens already
// issued: Rotate to a new key, wait until every token signed with the old
// one has expired, then Retire it.
//
// KeySet implements [oauthkit.Signer]. It is safe for concurrent use:
// signing and verification read an immutable snapshot through an atomic
// pointer and never wait for Rotate or Retire.
//
// The zero KeySet has no keys: it signs and verifies nothing, and its JWKS
// is empty, until Rotate gives it an active key.
type KeySet struct {
	mu   sync.Mutex // serializes Rotate and Retire
	snap atomic.Pointer[keySnapshot]
}

// keySnapshot is an immutable state of a KeySet, with everything derived from
// the keys computed once.
type keySnapshot struct {
	active     *Key // nil only in noKeys
	verifyOnly []*Key
	keys       map[string]*Key // by kid: active and verify-only
	jwks       []byte

	// signers holds the active key's signer per "typ" header, built when
	// the snapshot is made for the common types and on first use for others
	// (at most maxLazySigners of them).
	signers     map[string]*compactSigner
	lazySigners sync.Map // string → *compactSigner
	lazyCount   atomic.Int32
}

// Header types for which signers are built up front.
const (
	typeAccessToken = "at+jwt" // RFC 9068 §2.1
	typeJWT         = "JWT"    // RFC 7519 §5.1
)

var prebuiltTypes = []string{"", typeJWT, typeAccessToken}

// maxLazySigners bounds the signers cached for other types.
const maxLazySigners = 16

// noKeys is the state of the zero KeySet.
var noKeys = &keySnapshot{jwks: []byte(`{"keys":[]}`)}

var errNoActiveKey = errors.New("jwt: the key set has no active key")

// load returns the current state.
func (s *KeySet) load() *keySnapshot {
	if snap := s.snap.Load(); snap != nil {
		return snap
	}
	return noKeys
}

// NewKeySet returns a key set that signs with active and also accepts
// tokens signed with the verifyOnly keys. Key IDs must be distinct.
func NewKeySet(active *Key, verifyOnly ...*Key) (*KeySet, error) {
	snap, err := newSnapshot(active, verifyOnly)
	if err != nil {
		return nil, err
	}
	s := new(KeySet)
	s.snap.Store(snap)
	return s, nil
}

func newSnapshot(active *Key, verifyOnly []*Key) (*keySnapshot, error) {
	if active == nil {
		return nil, errors.New("jwt: no active key")
	}
	snap := &keySnapshot{
		active:     active,
		verifyOnly: slices.Clone(verifyOnly), // the caller keeps its slice
		keys:       make(map[string]*Key, 1+len(verifyOnly)),
		signers:    make(map[string]*compactSigner, len(prebuiltTypes)),
	}
	jwks := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, 1+len(verifyOnly))}
	for _, k := range append([]*Key{active}, verifyOnly...) {
		if k == nil || k.priv == nil {
			return nil, errors.New("jwt: nil or zero Key; make keys with GenerateKey, NewKey, ParsePEM or ParseJWK")
		}
		if _, dup := snap.keys[k.kid]; dup {
			return nil, fmt.Errorf("jwt: key ID %q used twice", k.kid)
		}
		snap.keys[k.kid] = k
		jwks.Keys = append(jwks.Keys, k.public)
	}
	var err error
	if snap.jwks, err = json.Marshal(jwks); err != nil {
		return nil, fmt.Errorf("jwt: encoding JWKS: %w", err)
	}
	for _, typ := range prebuiltTypes {
		if snap.signers[typ], err = newCompactSigner(active, typ); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// signer returns the active key's signer for typ.
func (s *keySnapshot) signer(typ string) (*compactSigner, error) {
	if sig, ok := s.signers[typ]; ok {
		return sig, nil
	}
	if sig, ok := s.lazySigners.Load(typ); ok {
		return sig.(*compactSigner), nil
	}
	sig, err := newCompactSigner(s.active, typ)
	if err != nil {
		return nil, err
	}
	if s.lazyCount.Add(1) <= maxLazySigners {
		s.lazySigners.Store(typ, sig)
	}
	return sig, nil
}

// sign returns the compact JWS of payload, a JSON object.
func (s *keySnapshot) sign(typ string, payload []byte) (string, error) {
	if s.active == nil {
		return "", errNoActiveKey
	}
	sig, err := s.signer(typ)
	if err != nil {
		return "", err
	}
	return sig.sign(payload)
}

// Rotate makes newActive the signing key. The previous active key stays in
// the set for verification until it is retired. newActive may be a
// verify-only key of the set, published earlier; otherwise its key ID must
// be new.
func (s *KeySet) Rotate(newActive *Key) error {
	if newActive == nil {
		return errors.New("jwt: Rotate: nil key")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.load()
	verify := make([]*Key, 0, 1+len(cur.verifyOnly))
	if cur.active != nil {
		if newActive.kid == cur.active.kid {
			return fmt.Errorf("jwt: Rotate: key %q is already active", newActive.kid)
		}
		verify = append(verify, cur.active)
	}
	for _, k := range cur.verifyOnly {
		if k.kid != newActive.kid {
			verify = append(verify, k)
		} else if !sameKey(k, newActive) {
			return fmt.Errorf("jwt: Rotate: key ID %q names another key in the set", k.kid)
		}
	}
	snap, err := newSnapshot(newActive, verify)
	if err != nil {
		return err
	}
	s.snap.Store(snap)
	return nil
}

func sameKey(a, b *Key) bool {
	pub, ok := a.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && a.alg == b.alg && pub.Equal(b.Public())
}

// Retire removes the verify-only key named kid: tokens it signed stop
// verifying and it leaves the JWKS. The active key cannot be retired;
// Rotate away from it first.
func (s *KeySet) Retire(kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.load()
	if cur.active != nil && kid == cur.active.kid {
		return fmt.Errorf("jwt: Retire: key %q is the active key", kid)
	}
	if _, ok := cur.keys[kid]; !ok {
		return fmt.Errorf("jwt: Retire: no key %q in the set", kid)
	}
	verify := make([]*Key, 0, len(cur.verifyOnly)-1)
	for _, k := range cur.verifyOnly {
		if k.kid != kid {
			verify = append(verify, k)
		}
	}
	snap, err := newSnapshot(cur.active, verify)
	if err != nil {
		return err
	}
	s.snap.Store(snap)
	return nil
}

// Algorithm returns the JWS "alg" of the active key, or "" if there is
// none.
func (s *KeySet) Algorithm() string {
	if k := s.load().active; k != nil {
		return string(k.alg)
	}
	return ""
}

// ActiveKeyID returns the key ID of the active key, or "" if there is none.
func (s *KeySet) ActiveKeyID() string {
	if k := s.load().active; k != nil {
		return k.kid
	}
	return ""
}

// Sign returns a compact JWS (RFC 7515 §7.1) of claims signed with the
// active key. claims is encoded with encoding/json and must encode to a JSON
// object; a json.RawMessage is signed as it is. The protected header has
// "alg", "kid" and, unless typ is empty, "typ". Sign does no I/O; ctx is
// unused.
func (s *KeySet) Sign(_ context.Context, typ string, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jwt: encoding claims: %w", err)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return "", errors.New("jwt: claims must encode to a JSON object")
	}
	return s.load().sign(typ, payload)
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5) of the public keys, active
// key first: each with "kid", "alg" and "use":"sig", and never any private
// key material.
func (s *KeySet) JWKS() []byte {
	jwks := s.load().jwks
	return append(make([]byte, 0, len(jwks)), jwks...)
}

// JWKSHandler returns a handler serving JWKS to GET and HEAD requests, to be
// mounted at the URL published as jwks_uri (RFC 8414 §2). The document is
// encoded once per key rotation, and may be cached for JWKSMaxAge seconds.
func (s *KeySet) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		jwks := s.load().jwks
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(jwks)))
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(JWKSMaxAge))
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodGet {
			w.Write(jwks)
		}
	})
}
