package assertion

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/internal/jwks"
)

// Limits of ClientKeys.
const (
	maxClientKeySetBytes = 64 << 10 // a client's jwks_uri document
	maxCachedKeySets     = 1024     // parsed JWK Sets and remote key sets kept, each
)

// ClientKeys finds the public keys that clients register, inline (RFC 7591
// §2 jwks) or at an https jwks_uri, from bounded caches: parsed sets, and
// remote sets with their fetched keys and the rate limit of their
// refetches. It is safe for concurrent use.
type ClientKeys struct {
	algs         []jose.SignatureAlgorithm
	httpClient   *http.Client
	fetchTimeout time.Duration
	now          func() time.Time

	mu      sync.Mutex
	sets    map[string]*jwks.Set    // a registered jwks → its parsed keys
	remotes map[string]*jwks.Remote // a registered jwks_uri → its keys
}

// NewClientKeys returns a ClientKeys keeping the keys that fit algs,
// fetching jwks_uri documents with client (nil: a client with the
// timeout), each fetch within fetchTimeout, by the clock now.
func NewClientKeys(algs []jose.SignatureAlgorithm, client *http.Client, fetchTimeout time.Duration, now func() time.Time) *ClientKeys {
	return &ClientKeys{
		algs: algs, httpClient: client, fetchTimeout: fetchTimeout, now: now,
		sets:    make(map[string]*jwks.Set),
		remotes: make(map[string]*jwks.Remote),
	}
}

// Key returns a client's public key for kid and alg, from its registered
// jwks or jwksURI. A registration the client must fix, or a key it lacks,
// is a *Refusal; a jwks_uri that cannot be fetched an error wrapping
// jwks.ErrUnavailable; otherwise ctx's error.
func (k *ClientKeys) Key(ctx context.Context, set []byte, jwksURI, kid, alg string) (any, error) {
	switch {
	case len(set) > 0 && jwksURI != "":
		return nil, &Refusal{Reason: "the client has both jwks and jwks_uri registered"}
	case len(set) > 0:
		parsed, err := k.parsedSet(set)
		if err != nil {
			return nil, &Refusal{Reason: "the client's registered JWK Set is not usable", Err: err}
		}
		if key := parsed.Key(kid, alg); key != nil {
			return key, nil
		}
		return nil, Refuse("signed with an unknown key")
	case jwksURI != "":
		remote, err := k.remote(jwksURI)
		if err != nil {
			return nil, &Refusal{Reason: "the client's jwks_uri is not an https URL"}
		}
		key, err := remote.Key(ctx, kid, alg)
		if errors.Is(err, jwks.ErrInvalidSet) {
			return nil, &Refusal{Reason: "the client's jwks_uri serves no usable JWK Set", Err: err}
		}
		return RemoteKey(key, err)
	default:
		return nil, &Refusal{Reason: "the client has no registered keys"}
	}
}

// RemoteKey maps the outcome of a jwks.Remote's Key: ErrUnknownKey is a
// refusal, any other error (unavailable, an unusable set, ctx's) is
// returned as it is.
func RemoteKey(key any, err error) (any, error) {
	if errors.Is(err, jwks.ErrUnknownKey) {
		return nil, Refuse("signed with an unknown key")
	}
	return key, err
}

// parsedSet returns the parsed form of a registered JWK Set, from a bounded
// cache: parsing costs more than the lookup.
func (k *ClientKeys) parsedSet(data []byte) (*jwks.Set, error) {
	k.mu.Lock()
	set := k.sets[string(data)]
	k.mu.Unlock()
	if set != nil {
		return set, nil
	}
	set, _, err := jwks.Parse(data, k.algs)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.sets) >= maxCachedKeySets {
		clear(k.sets)
	}
	k.sets[string(data)] = set
	return set, nil
}

// remote returns the remote key set at rawURL, which must be https, from a
// bounded cache that keeps fetched keys and the rate limit of refetches.
func (k *ClientKeys) remote(rawURL string) (*jwks.Remote, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if r := k.remotes[rawURL]; r != nil {
		return r, nil
	}
	if !IsHTTPS(rawURL) {
		return nil, errors.New("not an https URL")
	}
	if len(k.remotes) >= maxCachedKeySets {
		for u := range k.remotes { // drop one: its keys are fetched again if needed
			delete(k.remotes, u)
			break
		}
	}
	r := jwks.NewRemote(jwks.Config{
		URL:          rawURL,
		Algorithms:   k.algs,
		Client:       k.httpClient,
		FetchTimeout: k.fetchTimeout,
		MaxBytes:     maxClientKeySetBytes,
		Now:          k.now,
	})
	k.remotes[rawURL] = r
	return r, nil
}

// IsHTTPS reports whether rawURL is an absolute https URL with a host and
// no user info: where keys may be fetched from.
func IsHTTPS(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}
