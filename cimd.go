package oauthkit

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oauthkit/oauthkit/internal/flight"
	"github.com/oauthkit/oauthkit/internal/publicnet"
)

// Defaults of ClientIDMetadataDocumentConfig.
const (
	DefaultMetadataDocumentFetchTimeout = 5 * time.Second
	DefaultMetadataDocumentMaxBytes     = 5 << 10 // the draft's suggestion: 5 KiB
	DefaultMetadataDocumentMinCacheAge  = time.Minute
	DefaultMetadataDocumentMaxCacheAge  = 24 * time.Hour
	DefaultMetadataDocumentCacheEntries = 1024
)

// maxMetadataDocumentFetches bounds the fetches running at once: each
// holds a connection for up to FetchTimeout, and anyone can name a new URL.
const maxMetadataDocumentFetches = 16

// ClientIDMetadataDocumentConfig configures [ClientIDMetadataDocuments]. The
// zero value of every field is its default.
type ClientIDMetadataDocumentConfig struct {
	// GrantTypes are the grant types a document may list. Nil means
	// authorization_code and refresh_token.
	GrantTypes []string
	// AuthMethods are the token_endpoint_auth_method values a document may
	// name: none, and private_key_jwt (with jwks_uri or jwks) if the server
	// has it. Nil means none only. A document without one means none:
	// no shared secret can be set up for such a client.
	AuthMethods []string
	// Scopes are the scopes such a client may have; a document without
	// scope gets all of them. Nil means none.
	Scopes []string

	// FetchTimeout bounds each fetch, connection and body included. Zero
	// means DefaultMetadataDocumentFetchTimeout.
	FetchTimeout time.Duration
	// MaxBytes bounds a document; a longer one is refused. Zero means
	// DefaultMetadataDocumentMaxBytes.
	MaxBytes int64
	// MinCacheAge and MaxCacheAge bound how long a fetched document is
	// used before it is fetched again: its Cache-Control max-age, at least
	// MinCacheAge (also how long a failed fetch is remembered) and at most
	// MaxCacheAge. Zero means DefaultMetadataDocumentMinCacheAge and
	// DefaultMetadataDocumentMaxCacheAge.
	MinCacheAge time.Duration
	MaxCacheAge time.Duration
	// CacheEntries bounds the documents (and failures) remembered. Zero
	// means DefaultMetadataDocumentCacheEntries.
	CacheEntries int
	// TLS configures the fetches' TLS. Nil means the system's roots.
	TLS *tls.Config
	// InsecureAllowPrivateAddresses lets documents be fetched from
	// loopback, private, link-local and other non-public addresses, which
	// gives up the protection against server-side request forgery: any
	// client could make the server send requests into its own network. For
	// tests against a local server only.
	InsecureAllowPrivateAddresses bool
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// ClientIDMetadataDocumentClients is a ClientStore that knows, besides the
// clients of the store it wraps, every client whose client_id is an https
// URL serving its client ID metadata document
// ([draft-ietf-oauth-client-id-metadata-document]). Make one with
// [ClientIDMetadataDocuments]; it is safe for concurrent use.
//
// [draft-ietf-oauth-client-id-metadata-document]: https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/
type ClientIDMetadataDocumentClients struct {
	next   ClientStore
	cfg    ClientIDMetadataDocumentConfig
	policy registrationPolicy
	http   *http.Client

	mu       sync.Mutex
	cache    map[string]*documentEntry
	fetching map[string]*flight.Call[*documentEntry]
	slots    chan struct{} // one per fetch running
}

// documentEntry is a fetched document's client, or the failure to get one,
// until expires.
type documentEntry struct {
	client  *Client
	err     error
	expires time.Time
}

// ClientIDMetadataDocuments returns a ClientStore for Config.Clients that
// looks up a client_id that is not an https URL in next, and fetches the
// client ID metadata document of one that is: a JSON object served with
// 200 and application/json at that URL, whose client_id equals the URL, and
// which is client metadata (RFC 7591 §2) that cfg allows, without a client
// secret. The client it describes is public (none) or authenticates with
// private_key_jwt, and its Registration carries the document's
// informational fields: a consent page should name the URL's host.
//
// Fetches are safe against server-side request forgery: they reach only
// public addresses (checked after DNS resolution, at each dial, so DNS
// rebinding is caught too), follow no redirects and no proxy, and are
// bounded in size and time; at most 16 run at once, and a lookup that
// would start one more fails with an error wrapping ErrUnavailable. Concurrent lookups of one URL share one fetch;
// documents are cached for their Cache-Control max-age within cfg's bounds,
// and failures for MinCacheAge. A URL that is not a valid client identifier
// (https, a path without dot segments, no fragment or user information), a
// failed fetch and an invalid document are all an error wrapping
// ErrNotFound, so the endpoints answer invalid_client.
//
// A server whose Config.Clients is the returned store publishes
// client_id_metadata_document_supported in its metadata.
func ClientIDMetadataDocuments(next ClientStore, cfg ClientIDMetadataDocumentConfig) (*ClientIDMetadataDocumentClients, error) {
	switch {
	case next == nil:
		return nil, errors.New("oauthkit: ClientIDMetadataDocuments needs a ClientStore to wrap")
	case cfg.FetchTimeout < 0 || cfg.MaxBytes < 0 || cfg.MinCacheAge < 0 || cfg.MaxCacheAge < 0 || cfg.CacheEntries < 0:
		return nil, errors.New("oauthkit: ClientIDMetadataDocumentConfig: limits must not be negative")
	}
	if cfg.GrantTypes == nil {
		cfg.GrantTypes = []string{GrantTypeAuthorizationCode, GrantTypeRefreshToken}
	}
	for _, gt := range cfg.GrantTypes {
		if gt == GrantTypeClientCredentials || gt == GrantTypePassword {
			return nil, fmt.Errorf("oauthkit: ClientIDMetadataDocumentConfig.GrantTypes: %s needs a client secret or a resource owner's password, which a metadata document cannot set up", gt)
		}
	}
	if cfg.AuthMethods == nil {
		cfg.AuthMethods = []string{AuthMethodNone}
	}
	for _, m := range cfg.AuthMethods {
		if m != AuthMethodNone && m != AuthMethodPrivateKeyJWT {
			return nil, fmt.Errorf("oauthkit: ClientIDMetadataDocumentConfig.AuthMethods: %q is not none or private_key_jwt; a document cannot set up a shared secret", m)
		}
	}
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = DefaultMetadataDocumentFetchTimeout
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMetadataDocumentMaxBytes
	}
	if cfg.MinCacheAge == 0 {
		cfg.MinCacheAge = DefaultMetadataDocumentMinCacheAge
	}
	if cfg.MaxCacheAge == 0 {
		cfg.MaxCacheAge = DefaultMetadataDocumentMaxCacheAge
	}
	if cfg.MaxCacheAge < cfg.MinCacheAge {
		return nil, errors.New("oauthkit: ClientIDMetadataDocumentConfig.MaxCacheAge is below MinCacheAge")
	}
	if cfg.CacheEntries == 0 {
		cfg.CacheEntries = DefaultMetadataDocumentCacheEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &ClientIDMetadataDocumentClients{
		next: next,
		cfg:  cfg,
		policy: registrationPolicy{grantTypes: cfg.GrantTypes, authMethods: cfg.AuthMethods, scopes: cfg.Scopes,
			defaultAuthMethod: AuthMethodNone,
			// The store does not know the Server it serves: the flags are
			// taken as the document sets them.
			dpop: true, par: true},
		http: publicnet.NewClient(publicnet.Config{Timeout: cfg.FetchTimeout, TLS: cfg.TLS,
			InsecureAllowPrivateAddresses: cfg.InsecureAllowPrivateAddresses}),
		cache:    make(map[string]*documentEntry),
		fetching: make(map[string]*flight.Call[*documentEntry]),
		slots:    make(chan struct{}, maxMetadataDocumentFetches),
	}, nil
}

// clientIDMetadataDocuments marks the store for the server's metadata.
func (*ClientIDMetadataDocumentClients) clientIDMetadataDocuments() {}

// Client returns the client with the given ID: from the wrapped store, or
// from its metadata document if id is an https URL.
func (s *ClientIDMetadataDocumentClients) Client(ctx context.Context, id string) (*Client, error) {
	if !strings.HasPrefix(id, "https://") {
		return s.next.Client(ctx, id)
	}
	now := s.cfg.Now()
	s.mu.Lock()
	if e, ok := s.cache[id]; ok && now.Before(e.expires) { // only valid IDs are cached
		s.mu.Unlock()
		return e.client, e.err
	}
	s.mu.Unlock()
	if err := checkClientIDURL(id); err != nil {
		return nil, fmt.Errorf("oauthkit: client ID metadata document %q: %w: %v", id, ErrNotFound, err)
	}
	s.mu.Lock()
	// Again, under the lock that also guards fetching: a fetch that ended
	// since the first look has cached its outcome and left fetching.
	if e, ok := s.cache[id]; ok && now.Before(e.expires) {
		s.mu.Unlock()
		return e.client, e.err
	}
	c, ok := s.fetching[id]
	if !ok || !c.Join() {
		select {
		case s.slots <- struct{}{}:
		default:
			s.mu.Unlock()
			return nil, fmt.Errorf("oauthkit: client ID metadata document %q: %d fetches running: %w", id, maxMetadataDocumentFetches, ErrUnavailable)
		}
		c = flight.New[*documentEntry](ctx)
		c.Join()
		s.fetching[id] = c
		go s.fetch(c, id)
	}
	s.mu.Unlock()
	e, err := c.Wait(ctx)
	if err != nil {
		return nil, err
	}
	return e.client, e.err
}

// fetch runs call c, the fetch of id's document, and caches its outcome
// unless the call was abandoned (every caller gone).
func (s *ClientIDMetadataDocumentClients) fetch(c *flight.Call[*documentEntry], id string) {
	client, age, err := s.download(c.Ctx, id)
	<-s.slots
	e := &documentEntry{client: client}
	if err != nil {
		e.err = fmt.Errorf("oauthkit: client ID metadata document %q: %w: %v", id, ErrNotFound, err)
		age = s.cfg.MinCacheAge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fetching[id] == c {
		delete(s.fetching, id)
	}
	if c.Ctx.Err() == nil { // not abandoned: the outcome is the document's
		now := s.cfg.Now()
		e.expires = now.Add(age)
		if len(s.cache) >= s.cfg.CacheEntries {
			s.evict(now)
		}
		s.cache[id] = e
	}
	c.Finish(e, nil)
}

// evict drops the expired entries and, if the cache is still full, one
// more.
func (s *ClientIDMetadataDocumentClients) evict(now time.Time) {
	for k, e := range s.cache {
		if !now.Before(e.expires) {
			delete(s.cache, k)
		}
	}
	for k := range s.cache {
		if len(s.cache) < s.cfg.CacheEntries {
			return
		}
		delete(s.cache, k)
	}
}

// download fetches and checks id's document, and returns its client and
// how long to cache it.
func (s *ClientIDMetadataDocumentClients) download(ctx context.Context, id string) (*Client, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("answered %s, want 200 (redirects are not followed)", resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil ||
		mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil, 0, errors.New("not served as application/json")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if int64(len(body)) > s.cfg.MaxBytes {
		return nil, 0, fmt.Errorf("larger than %d bytes", s.cfg.MaxBytes)
	}
	client, err := s.parse(id, body)
	if err != nil {
		return nil, 0, err
	}
	age, ok := cacheMaxAge(resp.Header.Get("Cache-Control"))
	if !ok {
		age = s.cfg.MinCacheAge
	}
	return client, min(max(age, s.cfg.MinCacheAge), s.cfg.MaxCacheAge), nil
}

// parse checks a document of id and returns the client it describes.
func (s *ClientIDMetadataDocumentClients) parse(id string, body []byte) (*Client, error) {
	var ids struct {
		ClientID              *string         `json:"client_id"`
		ClientSecret          json.RawMessage `json:"client_secret"`
		ClientSecretExpiresAt json.RawMessage `json:"client_secret_expires_at"`
	}
	md, err := parseClientMetadata(body)
	if err == nil {
		err = json.Unmarshal(body, &ids)
	}
	switch {
	case err != nil:
		return nil, err
	case ids.ClientID == nil || *ids.ClientID != id:
		return nil, errors.New("its client_id is not its URL")
	case ids.ClientSecret != nil || ids.ClientSecretExpiresAt != nil:
		return nil, errors.New("it has a client secret, which a metadata document must not")
	}
	client, oerr := clientFromMetadata(md, s.policy)
	if oerr != nil {
		return nil, oerr
	}
	client.ID = id
	if err := client.Validate(); err != nil {
		return nil, err
	}
	return client, nil
}

// checkClientIDURL checks a client identifier URL (the draft's §3): https,
// a path without single- or double-dot segments, no fragment and no user
// information.
func checkClientIDURL(id string) error {
	u, err := url.Parse(id)
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return errors.New("not an https URL")
	case u.Path == "":
		return errors.New("has no path")
	case u.User != nil:
		return errors.New("has user information")
	case strings.Contains(id, "#"):
		return errors.New("has a fragment")
	case slices.ContainsFunc(strings.Split(u.EscapedPath(), "/"), func(seg string) bool {
		seg = strings.ToLower(seg)
		return seg == "." || seg == ".." || seg == "%2e" || seg == "%2e%2e" || seg == ".%2e" || seg == "%2e."
	}):
		return errors.New("has a dot segment in its path")
	}
	return nil
}

// cacheMaxAge returns the max-age directive of a Cache-Control header
// (RFC 9111 §5.2.2.1), or 0 for no-store or no-cache; false if it has none
// of them.
func cacheMaxAge(header string) (time.Duration, bool) {
	var age time.Duration
	found := false
	for d := range strings.SplitSeq(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return 0, true
		case "max-age":
			n, err := strconv.ParseUint(strings.Trim(value, `"`), 10, 32)
			if err != nil {
				return 0, true // malformed: as if the response is stale (§4.2.1)
			}
			age, found = time.Duration(n)*time.Second, true
		}
	}
	return age, found
}
