package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// config is the example server's configuration, as read from the -config
// file (see README.md for the format). Secrets and
// passwords are held in plain text only until newApp hashes them.
type config struct {
	// Issuer is the issuer identifier. Empty means "http://" + the address
	// the server listens on.
	Issuer string
	// AccessTokenFormat is "opaque" or "jwt" (RFC 9068 access tokens signed
	// with the server's key set).
	AccessTokenFormat string
	Clients           []clientConfig
	Users             []userConfig
	// ScopeDescriptions says in plain words what each scope allows, for
	// the consent page; it is merged over defaultScopeDescriptions. A scope
	// without a description is shown by its name.
	ScopeDescriptions map[string]string
	// TokenRequestsPerMinute limits each client's requests at the token
	// endpoint (rate_limit.token_requests_per_minute); zero means no limit.
	TokenRequestsPerMinute int
	// TrustedIssuers are the issuers whose JWTs the JWT bearer grant
	// (RFC 7523 §2.1) accepts as assertions, with their public keys.
	TrustedIssuers []trustedIssuerConfig
	// RequirePushedAuthorizationRequests makes every client push its
	// authorization requests (RFC 9126 §5).
	RequirePushedAuthorizationRequests bool
	// DPoPNonce makes the token endpoint, userinfo and the demo API ask
	// for server nonces in DPoP proofs (dpop_nonce, RFC 9449 §8, §9).
	DPoPNonce bool
	// Registration turns on dynamic client registration (RFC 7591/7592)
	// at {issuer}/register; nil means off.
	Registration *registrationConfig
	// Tenants are further issuers served by the same process from the same
	// store, each at {issuer}/{id} with clients, users and keys of its own.
	Tenants []tenantConfig
	// Tenant is the ID of the tenant whose config this is (forTenant), or
	// empty for the server's own; a tenant's issuer has its ID as path.
	Tenant string
}

// tenantConfig is one entry of tenants: an issuer of its own,
// {issuer}/{ID}, whose clients and users are its own and whose other
// settings (token format, rate limit, PAR, DPoP nonces, scope
// descriptions) are the config's.
type tenantConfig struct {
	ID      string
	Clients []clientConfig
	Users   []userConfig
}

// ownTenantID is the tenant under which the server keeps its own records
// in the shared store when the config has tenants.
const ownTenantID = "root"

// reservedTenantIDs are the first path segments of the example server's
// own routes, which no tenant may shadow, and ownTenantID.
var reservedTenantIDs = []string{"authorize", "token", "revoke", "introspect", "par", "userinfo", "api",
	"callback", "device", "device_authorization", "register", ownTenantID}

// forTenant returns the config of tenant t: t's issuer, clients and users,
// and cfg's other settings, but neither trusted issuers (whose JWTs name
// users of cfg) nor registration nor tenants.
func (cfg config) forTenant(t tenantConfig) config {
	tc := cfg
	tc.Issuer = cfg.Issuer + "/" + t.ID
	tc.Clients, tc.Users = slices.Clone(t.Clients), slices.Clone(t.Users)
	tc.TrustedIssuers, tc.Registration, tc.Tenants = nil, nil, nil
	tc.Tenant = t.ID
	return tc
}

// trustedIssuerConfig is one entry of trusted_issuers: an identity provider
// whose JWTs are accepted as RFC 7523 assertions, their sub naming a user
// of the config.
type trustedIssuerConfig struct {
	// Issuer is the iss of its JWTs, compared exactly.
	Issuer string
	// JWKS is its public keys, a JWK Set in JSON (compacted).
	JWKS []byte
}

// clientConfig is one registered client.
type clientConfig struct {
	ID string
	// Name is the client's name for people (RFC 7591 §2 client_name), shown
	// on the login and consent pages; empty means the pages show the ID.
	Name   string
	Secret string // empty for a public client
	Public bool
	// AuthMethod is the token_endpoint_auth_method the config names, or
	// empty when it names none: a client with a secret may then use
	// client_secret_basic or client_secret_post, and a public client none.
	AuthMethod   string
	RedirectURIs []string
	GrantTypes   []string
	Scopes       []string
	// Resources are further resource indicators (RFC 8707) the client may
	// ask for, besides the demo API, {issuer}/api, which every client may.
	Resources []string
	// JWKS is the client's public keys, a JWK Set in JSON (compacted): for
	// private_key_jwt, and for the JWT bearer grant's assertions that the
	// client signs itself; nil otherwise.
	JWKS []byte
	// RequirePushedAuthorizationRequests makes this client push its
	// authorization requests (RFC 9126 §6).
	RequirePushedAuthorizationRequests bool
	// DemoCallback is set on the demo clients that use the authorization
	// code grant: while RedirectURIs is empty, their redirect URI is the
	// example's own callback page, callbackURI(issuer, ID), which
	// resolveCallbacks fills in once the issuer is known. Clients of a
	// config file never have it: their redirect URIs are as configured.
	// The callback page shows the credentials of these clients only.
	DemoCallback bool
	// DPoPBoundAccessTokens requires a DPoP proof with every token request
	// of the client (dpop_bound_access_tokens, RFC 9449 §5.2).
	DPoPBoundAccessTokens bool
}

// userConfig is one resource owner who can sign in. Email and Name are
// optional: the OpenID Connect claims "email" (scope email) and "name"
// (scope profile).
type userConfig struct {
	Username string
	Password string
	Email    string
	Name     string
}

// Access token formats accepted in the config file.
const (
	formatOpaque = "opaque"
	formatJWT    = "jwt"
)

// configGrantTypes are the grant types a client may list in the config
// file; implicit is left out on purpose (RFC 9700 §2.1.2).
var configGrantTypes = []string{
	oauthkit.GrantTypeAuthorizationCode,
	oauthkit.GrantTypeRefreshToken,
	oauthkit.GrantTypeClientCredentials,
	oauthkit.GrantTypePassword,
	grants.GrantTypeJWTBearer,
	grants.GrantTypeExternalToken,
	grants.GrantTypeTokenExchange,
	oauthkit.GrantTypeDeviceCode,
}

// defaultScopeDescriptions are the consent page's words for the scopes of
// the demo clients and of OpenID Connect (OIDC Core §5.4); the config's
// scope_descriptions add to them and replace them.
var defaultScopeDescriptions = map[string]string{
	oauthkit.ScopeOpenID: "Know who you are: your user ID on this server",
	scopeProfile:         "See your name and username",
	scopeEmail:           "See your e-mail address",
	"offline_access":     "Keep access while you are not using the application",
	scopeAPIRead:         "Read your data",
	"write":              "Change your data",
}

// demoConfig returns the demo defaults: the clients web, spa, svc and legacy
// and the user alice. The issuer is left empty, to follow -addr; so are the
// redirect URIs of web and spa, the example's own callback page under the
// issuer (see resolveCallbacks).
func demoConfig() config {
	return config{
		AccessTokenFormat: formatOpaque,
		Clients:           demoClients(),
		Users:             []userConfig{{Username: "alice", Password: "wonderland", Email: "alice@example.com", Name: "Alice Liddell"}},
	}
}

func demoClients() []clientConfig {
	codeGrants := []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken}
	return []clientConfig{
		{
			ID: "web", Name: "Demo Web App", Secret: "s3cret",
			DemoCallback: true,
			GrantTypes:   slices.Clone(codeGrants),
			Scopes:       []string{"openid", "profile", "read", "write"},
		},
		{
			ID: "spa", Name: "Demo Single-Page App", Public: true,
			DemoCallback: true,
			GrantTypes:   slices.Clone(codeGrants),
			Scopes:       []string{"read"},
		},
		{
			ID: "svc", Name: "Demo Service", Secret: "svc-secret",
			GrantTypes: []string{oauthkit.GrantTypeClientCredentials},
			Scopes:     []string{"read", "write"},
		},
		{
			ID: "legacy", Name: "Demo Legacy App", Secret: "legacy-secret",
			GrantTypes: []string{oauthkit.GrantTypePassword, oauthkit.GrantTypeRefreshToken},
			Scopes:     []string{"read"},
		},
	}
}

// scopeDescriptions returns the consent page's words for each scope: the
// defaults with the config's scope_descriptions over them.
func (cfg *config) scopeDescriptions() map[string]string {
	d := maps.Clone(defaultScopeDescriptions)
	maps.Copy(d, cfg.ScopeDescriptions)
	return d
}

// callbackURI is the redirect URI of a demo client: the example's own
// callback page for the client, {issuer}/callback/{id}.
func callbackURI(issuer, clientID string) string {
	return issuer + pathCallback + "/" + url.PathEscape(clientID)
}

// resolveCallbacks gives every demo client without redirect URIs its
// callback page under cfg.Issuer, which must be set. It changes nothing
// else, and nothing when called again.
func (cfg *config) resolveCallbacks() {
	for i := range cfg.Clients {
		c := &cfg.Clients[i]
		if c.DemoCallback && len(c.RedirectURIs) == 0 && cfg.Issuer != "" {
			c.RedirectURIs = []string{callbackURI(cfg.Issuer, c.ID)}
		}
	}
}

// loadConfig reads the config file at path, or returns the demo defaults
// when path is empty. Errors in the JSON syntax name the file, line and
// column.
func loadConfig(path string) (config, error) {
	if path == "" {
		return demoConfig(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return parseConfig(path, f)
}

// The file's JSON shape. Every level is decoded with DisallowUnknownFields;
// lists are decoded element by element so that an error names its index.
// A field that is absent or null takes its demo default.
type (
	fileConfig struct {
		Issuer            *string                     `json:"issuer"`
		AccessTokenFormat *string                     `json:"access_token_format"`
		Clients           *[]json.RawMessage          `json:"clients"`
		Users             *[]json.RawMessage          `json:"users"`
		ScopeDescriptions *map[string]json.RawMessage `json:"scope_descriptions"`
		RateLimit         *json.RawMessage            `json:"rate_limit"`
		TrustedIssuers    *[]json.RawMessage          `json:"trusted_issuers"`
		RequirePAR        *bool                       `json:"require_pushed_authorization_requests"`
		DPoPNonce         *bool                       `json:"dpop_nonce"`
		Registration      *json.RawMessage            `json:"registration"`
		Tenants           *[]json.RawMessage          `json:"tenants"`
	}
	fileTenant struct {
		ID      string             `json:"id"`
		Clients *[]json.RawMessage `json:"clients"`
		Users   *[]json.RawMessage `json:"users"`
	}
	fileTrustedIssuer struct {
		Issuer string           `json:"issuer"`
		JWKS   *json.RawMessage `json:"jwks"`
	}
	fileRateLimit struct {
		TokenRequestsPerMinute *json.RawMessage `json:"token_requests_per_minute"`
	}
	fileClient struct {
		ID                      string             `json:"id"`
		Name                    string             `json:"name"`
		Secret                  string             `json:"secret"`
		Public                  *bool              `json:"public"`
		TokenEndpointAuthMethod *string            `json:"token_endpoint_auth_method"`
		RedirectURIs            []json.RawMessage  `json:"redirect_uris"`
		GrantTypes              *[]json.RawMessage `json:"grant_types"`
		Scopes                  []json.RawMessage  `json:"scopes"`
		JWKS                    *json.RawMessage   `json:"jwks"`
		Resources               []json.RawMessage  `json:"resources"`
		RequirePAR              *bool              `json:"require_pushed_authorization_requests"`
		DPoPBoundAccessTokens   *bool              `json:"dpop_bound_access_tokens"`
	}
	fileUser struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Email    string `json:"email"`
		Name     string `json:"name"`
	}
)

// maxConfigBytes bounds the config file; a real one is a few kilobytes.
const maxConfigBytes = 1 << 20

// parseConfig reads a JSON config, fills what is missing with the demo
// defaults, and validates it. Errors name the offending field, as in
// "config: clients[1].redirect_uris[0]: ...", or, for JSON that is not
// well-formed, the place: "config: name:2:17: ..." (just "line 2, column
// 17" when name, the file's name, is empty).
func parseConfig(name string, r io.Reader) (config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	switch {
	case err != nil:
		return config{}, fmt.Errorf("config: %w", err)
	case len(data) > maxConfigBytes:
		return config{}, fmt.Errorf("config: larger than %d bytes", maxConfigBytes)
	case len(bytes.TrimSpace(data)) == 0:
		return config{}, errors.New("config: empty; want a JSON object (use {} for the demo defaults)")
	}
	var fc fileConfig
	if err := decodeStrict(data, &fc, ""); err != nil {
		var se *syntaxError
		if errors.As(err, &se) && name != "" {
			return config{}, fmt.Errorf("config: %s:%d:%d: %s", name, se.line, se.col, se.msg)
		}
		return config{}, err
	}
	cfg := demoConfig()
	if fc.Issuer != nil {
		cfg.Issuer = *fc.Issuer
	}
	if fc.AccessTokenFormat != nil {
		cfg.AccessTokenFormat = *fc.AccessTokenFormat
	}
	if fc.RequirePAR != nil {
		cfg.RequirePushedAuthorizationRequests = *fc.RequirePAR
	}
	if fc.Clients != nil {
		cfg.Clients = make([]clientConfig, 0, len(*fc.Clients))
		for i, raw := range *fc.Clients {
			c, err := decodeClient(raw, fmt.Sprintf("clients[%d]", i))
			if err != nil {
				return config{}, err
			}
			cfg.Clients = append(cfg.Clients, c)
		}
	}
	if fc.ScopeDescriptions != nil {
		cfg.ScopeDescriptions = make(map[string]string, len(*fc.ScopeDescriptions))
		for _, sc := range slices.Sorted(maps.Keys(*fc.ScopeDescriptions)) {
			var desc string
			if err := decodeStrict((*fc.ScopeDescriptions)[sc], &desc, "scope_descriptions."+sc); err != nil {
				return config{}, err
			}
			cfg.ScopeDescriptions[sc] = desc
		}
	}
	if fc.TrustedIssuers != nil {
		for i, raw := range *fc.TrustedIssuers {
			path := fmt.Sprintf("trusted_issuers[%d]", i)
			var ft fileTrustedIssuer
			if err := decodeStrict(raw, &ft, path); err != nil {
				return config{}, err
			}
			t := trustedIssuerConfig{Issuer: ft.Issuer}
			if ft.JWKS != nil && string(bytes.TrimSpace(*ft.JWKS)) != "null" {
				if t.JWKS, err = decodeJWKS(*ft.JWKS, path+".jwks"); err != nil {
					return config{}, err
				}
			}
			cfg.TrustedIssuers = append(cfg.TrustedIssuers, t)
		}
	}
	if fc.DPoPNonce != nil {
		cfg.DPoPNonce = *fc.DPoPNonce
	}
	if fc.RateLimit != nil && string(bytes.TrimSpace(*fc.RateLimit)) != "null" {
		if cfg.TokenRequestsPerMinute, err = decodeRateLimit(*fc.RateLimit); err != nil {
			return config{}, err
		}
	}
	if fc.Registration != nil && string(bytes.TrimSpace(*fc.Registration)) != "null" {
		if cfg.Registration, err = decodeRegistration(*fc.Registration); err != nil {
			return config{}, err
		}
	}
	if fc.Users != nil {
		if cfg.Users, err = decodeUsers(*fc.Users, ""); err != nil {
			return config{}, err
		}
	}
	if fc.Tenants != nil {
		for i, raw := range *fc.Tenants {
			path := fmt.Sprintf("tenants[%d]", i)
			var ft fileTenant
			if err := decodeStrict(raw, &ft, path); err != nil {
				return config{}, err
			}
			t := tenantConfig{ID: ft.ID}
			if ft.Clients != nil {
				for j, raw := range *ft.Clients {
					c, err := decodeClient(raw, fmt.Sprintf("%s.clients[%d]", path, j))
					if err != nil {
						return config{}, err
					}
					t.Clients = append(t.Clients, c)
				}
			}
			if ft.Users != nil {
				if t.Users, err = decodeUsers(*ft.Users, path+"."); err != nil {
					return config{}, err
				}
			}
			cfg.Tenants = append(cfg.Tenants, t)
		}
	}
	if err := cfg.validate(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// decodeUsers decodes a users list; prefix goes before "users[i]" in
// errors.
func decodeUsers(raws []json.RawMessage, prefix string) ([]userConfig, error) {
	users := make([]userConfig, 0, len(raws))
	for i, raw := range raws {
		var fu fileUser
		if err := decodeStrict(raw, &fu, fmt.Sprintf("%susers[%d]", prefix, i)); err != nil {
			return nil, err
		}
		users = append(users, userConfig(fu))
	}
	return users, nil
}

// decodeRateLimit decodes the rate_limit object and returns its
// token_requests_per_minute, which is required and a positive integer.
func decodeRateLimit(raw json.RawMessage) (int, error) {
	const path = "rate_limit.token_requests_per_minute"
	var fr fileRateLimit
	if err := decodeStrict(raw, &fr, "rate_limit"); err != nil {
		return 0, err
	}
	if fr.TokenRequestsPerMinute == nil || string(bytes.TrimSpace(*fr.TokenRequestsPerMinute)) == "null" {
		return 0, fieldError(path, "required; how many token requests each client may make per minute (or leave rate_limit out for no limit)")
	}
	v := string(bytes.TrimSpace(*fr.TokenRequestsPerMinute))
	n, err := strconv.Atoi(v)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		return 0, fieldError(path, fmt.Sprintf("%s is too large", v))
	case err != nil || n <= 0:
		return 0, fieldError(path, fmt.Sprintf("want a positive integer, got %s", v))
	}
	return n, nil
}

func decodeClient(raw json.RawMessage, path string) (clientConfig, error) {
	var fc fileClient
	if err := decodeStrict(raw, &fc, path); err != nil {
		return clientConfig{}, err
	}
	c := clientConfig{ID: fc.ID, Name: fc.Name, Secret: fc.Secret, Public: fc.Public != nil && *fc.Public,
		RequirePushedAuthorizationRequests: fc.RequirePAR != nil && *fc.RequirePAR,
		DPoPBoundAccessTokens:              fc.DPoPBoundAccessTokens != nil && *fc.DPoPBoundAccessTokens}

	if m := fc.TokenEndpointAuthMethod; m != nil {
		if *m == "" {
			return clientConfig{}, fieldError(path+".token_endpoint_auth_method", "empty; name a method, or leave the field out")
		}
		c.AuthMethod = *m
		// "none" is what a public client uses (RFC 7591 §2): naming it
		// makes the client public, unless "public" says otherwise.
		if c.AuthMethod == oauthkit.AuthMethodNone && fc.Public == nil {
			c.Public = true
		}
	}
	var err error
	if fc.JWKS != nil && string(bytes.TrimSpace(*fc.JWKS)) != "null" {
		if c.JWKS, err = decodeJWKS(*fc.JWKS, path+".jwks"); err != nil {
			return clientConfig{}, err
		}
	}
	if c.RedirectURIs, err = decodeStrings(fc.RedirectURIs, path+".redirect_uris"); err != nil {
		return clientConfig{}, err
	}
	if c.Scopes, err = decodeStrings(fc.Scopes, path+".scopes"); err != nil {
		return clientConfig{}, err
	}
	if fc.Resources != nil {
		if c.Resources, err = decodeStrings(fc.Resources, path+".resources"); err != nil {
			return clientConfig{}, err
		}
	}
	if fc.GrantTypes == nil {
		// RFC 7591 §2: a client registered without grant_types uses only
		// the authorization code grant.
		c.GrantTypes = []string{oauthkit.GrantTypeAuthorizationCode}
	} else if c.GrantTypes, err = decodeStrings(*fc.GrantTypes, path+".grant_types"); err != nil {
		return clientConfig{}, err
	}
	return c, nil
}

func decodeStrings(raws []json.RawMessage, path string) ([]string, error) {
	out := make([]string, 0, len(raws))
	for i, raw := range raws {
		var s string
		if err := decodeStrict(raw, &s, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data, and turns encoding/json's errors into messages that name
// the field by its path from the root.
func decodeStrict(data []byte, v any, path string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return fieldError(path, "unexpected data after the JSON value")
		}
		return nil
	}
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntaxErr):
		line, col := position(data, syntaxErr.Offset)
		return &syntaxError{line: line, col: col, msg: strings.TrimPrefix(syntaxErr.Error(), "json: ")}
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The place is just after the last character, where the value
		// should have gone on.
		line, col := position(data, int64(len(bytes.TrimRight(data, " \t\r\n"))))
		return &syntaxError{line: line, col: col + 1, msg: "unexpected end of JSON: the file ends before the value does (a missing } or ]?)"}
	case errors.As(err, &typeErr):
		return fieldError(joinPath(path, typeErr.Field), "want "+jsonKind(typeErr.Type)+", got "+typeErr.Value)
	}
	// DisallowUnknownFields reports `json: unknown field "name"`, with no
	// path; the path is that of the object being decoded.
	if rest, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, uerr := strconv.Unquote(rest)
		if uerr != nil {
			name = rest
		}
		return fieldError(joinPath(path, name), "unknown field")
	}
	return fieldError(path, strings.TrimPrefix(err.Error(), "json: "))
}

// syntaxError is JSON that is not well-formed, at a 1-based line and
// column. parseConfig adds the file's name to its message.
type syntaxError struct {
	line, col int
	msg       string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("config: line %d, column %d: %s", e.line, e.col, e.msg)
}

func joinPath(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	default:
		return path + "." + field
	}
}

// fieldError formats a config error about the field at path, or about the
// whole document when path is empty.
func fieldError(path, msg string) error {
	if path == "" {
		return errors.New("config: " + msg)
	}
	return errors.New("config: " + path + ": " + msg)
}

// jsonKind names the JSON kind that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	default:
		return "a " + t.Kind().String()
	}
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

// validate checks every field, returning the first error found.
func (cfg *config) validate() error {
	if cfg.Issuer != "" {
		err := validateIssuer(cfg.Issuer)
		if cfg.Tenant != "" { // forTenant's issuer: {issuer}/{id}
			err = checkIssuerURL(cfg.Issuer, true)
		}
		if err != nil {
			return fieldError("issuer", err.Error())
		}
	}
	switch cfg.AccessTokenFormat {
	case formatOpaque, formatJWT:
	default:
		return fieldError("access_token_format", fmt.Sprintf(`unknown format %q; want "opaque" or "jwt"`, cfg.AccessTokenFormat))
	}
	if cfg.TokenRequestsPerMinute < 0 {
		return fieldError("rate_limit.token_requests_per_minute", fmt.Sprintf("want a positive integer, got %d", cfg.TokenRequestsPerMinute))
	}
	if len(cfg.Clients) == 0 {
		return fieldError("clients", "empty; register at least one client, or leave the field out for the demo clients")
	}
	ids, err := validateClientsAndUsers("", cfg.Clients, cfg.Users)
	if err != nil {
		return err
	}
	if err := validateTenants(cfg.Tenants); err != nil {
		return err
	}
	for _, sc := range slices.Sorted(maps.Keys(cfg.ScopeDescriptions)) {
		path := "scope_descriptions." + sc
		if !validScopeToken(sc) {
			return fieldError("scope_descriptions", fmt.Sprintf("%q is not a scope token (RFC 6749 §3.3)", sc))
		}
		desc := cfg.ScopeDescriptions[sc]
		if desc == "" {
			return fieldError(path, "empty; describe the scope, or leave it out")
		}
		if err := validateDisplayText(desc); err != nil {
			return fieldError(path, err.Error())
		}
	}
	issuers := make(map[string]bool)
	for i, t := range cfg.TrustedIssuers {
		path := fmt.Sprintf("trusted_issuers[%d]", i)
		if err := validateTrustedIssuer(t.Issuer); err != nil {
			return fieldError(path+".issuer", err.Error())
		}
		if issuers[t.Issuer] {
			return fieldError(path+".issuer", fmt.Sprintf("duplicate issuer %q", t.Issuer))
		}
		issuers[t.Issuer] = true
		if ids[t.Issuer] {
			// The library takes such an iss for the issuer's, never the
			// client's: say so rather than let the client's keys be ignored.
			return fieldError(path+".issuer", fmt.Sprintf("%q is also a client ID; an assertion with that iss would be the issuer's, never the client's: rename one of them", t.Issuer))
		}
		if len(t.JWKS) == 0 {
			return fieldError(path+".jwks", `required: the issuer's public keys, a JWK Set such as {"keys": [{"kty": "RSA", "n": "…", "e": "AQAB"}]}`)
		}
		if err := validateJWKS(t.JWKS, path+".jwks", ownerIssuer); err != nil {
			return err
		}
	}
	for i, c := range cfg.Clients {
		if !c.uses(grants.GrantTypeJWTBearer) || len(c.JWKS) > 0 || len(cfg.TrustedIssuers) > 0 {
			continue
		}
		j := slices.Index(c.GrantTypes, grants.GrantTypeJWTBearer)
		return fieldError(fmt.Sprintf("clients[%d].grant_types[%d]", i, j),
			"the JWT bearer grant needs assertions it can verify: list their issuers in trusted_issuers, or give the client the public keys it signs its own assertions with (jwks)")
	}
	return nil
}

func (c *clientConfig) validate(path string) error {
	switch {
	case c.ID == "":
		return fieldError(path+".id", "required")
	case !printableASCII(c.ID):
		// RFC 6749 Appendix A.1: client_id = *VSCHAR.
		return fieldError(path+".id", "must be printable ASCII (RFC 6749 Appendix A.1)")
	}
	if err := validateDisplayText(c.Name); err != nil {
		return fieldError(path+".name", err.Error())
	}
	if err := c.validateAuthMethod(path); err != nil {
		return err
	}
	switch {
	case c.Public && c.Secret != "":
		return fieldError(path+".secret", "a public client has no secret; remove it or set public to false")
	case !c.Public && c.Secret == "" && c.AuthMethod != oauthkit.AuthMethodPrivateKeyJWT:
		return fieldError(path+".secret", `required for a confidential client (or set "public": true)`)
	case !printableASCII(c.Secret):
		return fieldError(path+".secret", "must be printable ASCII (RFC 6749 Appendix A.2)")
	case c.AuthMethod == oauthkit.AuthMethodClientSecretJWT && len(c.Secret) < minSecretJWTLen:
		// RFC 7518 §3.2: an HMAC key at least as long as the hash.
		return fieldError(path+".secret", fmt.Sprintf("too short (%d characters): client_secret_jwt keys an HMAC with the secret, which needs at least %d (HS256, RFC 7518 §3.2; 48 for HS384, 64 for HS512)", len(c.Secret), minSecretJWTLen))
	}
	if len(c.GrantTypes) == 0 {
		return fieldError(path+".grant_types", "empty; a client with no grant types can do nothing")
	}
	for j, gt := range c.GrantTypes {
		p := fmt.Sprintf("%s.grant_types[%d]", path, j)
		switch {
		case gt == oauthkit.GrantTypeImplicit:
			return fieldError(p, `"implicit" is not offered by the example server (deprecated by RFC 9700 §2.1.2)`)
		case !slices.Contains(configGrantTypes, gt):
			return fieldError(p, fmt.Sprintf("unknown grant type %q; want one of %s", gt, strings.Join(configGrantTypes, ", ")))
		case slices.Contains(c.GrantTypes[:j], gt):
			return fieldError(p, fmt.Sprintf("duplicate grant type %q", gt))
		case gt == oauthkit.GrantTypeClientCredentials && c.Public:
			return fieldError(p, "client_credentials needs a confidential client (RFC 6749 §4.4)")
		}
	}
	if slices.Contains(c.GrantTypes, oauthkit.GrantTypeAuthorizationCode) && len(c.RedirectURIs) == 0 && !c.DemoCallback {
		return fieldError(path+".redirect_uris", "required for the authorization_code grant")
	}
	for j, r := range c.Resources {
		p := fmt.Sprintf("%s.resources[%d]", path, j)
		u, err := url.Parse(r)
		switch {
		case err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(r, "#"):
			return fieldError(p, fmt.Sprintf("%q is not an absolute URI without a fragment (RFC 8707 §2), such as https://api.example.com", r))
		case slices.Contains(c.Resources[:j], r):
			return fieldError(p, fmt.Sprintf("duplicate resource %q", r))
		}
	}
	for j, u := range c.RedirectURIs {
		p := fmt.Sprintf("%s.redirect_uris[%d]", path, j)
		if err := validateRedirectURI(c.ID, u); err != nil {
			return fieldError(p, err.Error())
		}
		if slices.Contains(c.RedirectURIs[:j], u) {
			return fieldError(p, fmt.Sprintf("duplicate redirect URI %q", u))
		}
	}
	for j, sc := range c.Scopes {
		p := fmt.Sprintf("%s.scopes[%d]", path, j)
		if !validScopeToken(sc) {
			return fieldError(p, fmt.Sprintf("%q is not a scope token (RFC 6749 §3.3: one or more of %%x21 / %%x23-5B / %%x5D-7E)", sc))
		}
		if slices.Contains(c.Scopes[:j], sc) {
			return fieldError(p, fmt.Sprintf("duplicate scope %q", sc))
		}
	}
	return nil
}

// validateTrustedIssuer checks the issuer identifier of a trusted issuer: an
// https URL (http only on a loopback host, for development) without user
// info, query or fragment. Unlike the server's own issuer, it may have a
// path, as many identity providers' do; it is compared with iss exactly,
// trailing slash included.
func validateTrustedIssuer(issuer string) error {
	if issuer == "" {
		return errors.New(`required: the iss of the issuer's JWTs, such as "https://idp.example"`)
	}
	return checkIssuerURL(issuer, true)
}

// validateClientsAndUsers checks a list of clients and one of users, whose
// paths in errors start with prefix, and returns the client IDs.
func validateClientsAndUsers(prefix string, clients []clientConfig, users []userConfig) (map[string]bool, error) {
	ids := make(map[string]bool)
	for i := range clients {
		c := &clients[i]
		path := fmt.Sprintf("%sclients[%d]", prefix, i)
		if err := c.validate(path); err != nil {
			return nil, err
		}
		if ids[c.ID] {
			return nil, fieldError(path+".id", fmt.Sprintf("duplicate client id %q", c.ID))
		}
		ids[c.ID] = true
	}
	names := make(map[string]bool)
	for i, u := range users {
		path := fmt.Sprintf("%susers[%d]", prefix, i)
		switch {
		case u.Username == "":
			return nil, fieldError(path+".username", "required")
		case !printableASCII(u.Username) || strings.TrimSpace(u.Username) != u.Username:
			return nil, fieldError(path+".username", "must be printable ASCII without leading or trailing spaces")
		case names[u.Username]:
			return nil, fieldError(path+".username", fmt.Sprintf("duplicate username %q", u.Username))
		case u.Password == "":
			return nil, fieldError(path+".password", "required")
		}
		if u.Email != "" {
			if err := validateEmail(u.Email); err != nil {
				return nil, fieldError(path+".email", err.Error())
			}
		}
		if err := validateDisplayText(u.Name); err != nil {
			return nil, fieldError(path+".name", err.Error())
		}
		names[u.Username] = true
	}
	// RFC 9700 §4.15.1: a client's own tokens (client_credentials) have
	// the client ID as their subject; a user with that name would share
	// it, and a resource server could take the client for the user.
	for i, c := range clients {
		if names[c.ID] {
			j := slices.IndexFunc(users, func(u userConfig) bool { return u.Username == c.ID })
			return nil, fieldError(fmt.Sprintf("%sclients[%d].id", prefix, i), fmt.Sprintf(
				"%q is also the username of %susers[%d]; a client ID must differ from every username, or the client's tokens would name the user as their subject (RFC 9700 §4.15.1)", c.ID, prefix, j))
		}
	}
	return ids, nil
}

// validateTenants checks the tenants: IDs that fit a URL path segment (and
// storage/tenant), none twice nor one of the server's own routes, and each
// tenant's clients and users.
func validateTenants(tenants []tenantConfig) error {
	seen := make(map[string]bool)
	for i, t := range tenants {
		path := fmt.Sprintf("tenants[%d]", i)
		switch {
		case !tenant.ValidID(t.ID):
			return fieldError(path+".id", fmt.Sprintf("%q: want 1 to 63 of a-z, 0-9 and -, not starting with -", t.ID))
		case slices.Contains(reservedTenantIDs, t.ID):
			return fieldError(path+".id", fmt.Sprintf("%q is a path of the server's own endpoints; choose another", t.ID))
		case seen[t.ID]:
			return fieldError(path+".id", fmt.Sprintf("duplicate tenant id %q", t.ID))
		case len(t.Clients) == 0:
			return fieldError(path+".clients", "empty; register at least one client of the tenant")
		}
		seen[t.ID] = true
		if _, err := validateClientsAndUsers(path+".", t.Clients, t.Users); err != nil {
			return err
		}
	}
	return nil
}

// validateIssuer checks an issuer identifier (RFC 8414 §2): https, or http
// on a loopback host for development, with no query, fragment or path (the
// example server mounts its endpoints at the root).
func validateIssuer(issuer string) error { return checkIssuerURL(issuer, false) }

// checkIssuerURL is the one rule for issuer identifiers (RFC 8414 §2), the
// server's own (no path) and trusted issuers' (a path allowed).
func checkIssuerURL(issuer string, pathAllowed bool) error {
	u, err := url.Parse(issuer)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an absolute URL", issuer)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#"):
		return fmt.Errorf("%q must have no user info, query or fragment (RFC 8414 §2)", issuer)
	case !pathAllowed && (u.Path != "" || u.RawPath != ""):
		return fmt.Errorf("%q must have no path, not even a trailing slash: the example server mounts its endpoints at the root", issuer)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("%q must use https (http only on a loopback host, for development)", issuer)
	}
}

// validateRedirectURI checks a redirection URI of the client clientID with
// oauthkit.Client.Validate, the library's rule, so that the example accepts
// exactly what the library does: absolute, without fragment (RFC 6749
// §3.1.2), and https, http on a loopback IP literal (never "localhost",
// RFC 8252 §7.3 and §8.3), or a private-use scheme in reverse domain
// notation (RFC 8252 §7.1). The error quotes the URI and says what is wrong
// with it.
func validateRedirectURI(clientID, raw string) error {
	if raw == "" {
		return errors.New("empty")
	}
	// A client that is otherwise valid (public, no grants), so that any
	// error is about the URI.
	probe := oauthkit.Client{ID: clientID, AuthMethod: oauthkit.AuthMethodNone, RedirectURIs: []string{raw}}
	err := probe.Validate()
	if err == nil {
		return nil
	}
	// Validate wraps the reason in "oauthkit: client ID: redirect URI
	// "raw": ", which the config error says in its own words.
	if reason := errors.Unwrap(err); reason != nil {
		err = reason
	}
	return fmt.Errorf("%q: %v", raw, err)
}

// validateEmail checks an e-mail address: a bare addr-spec (RFC 5322
// §3.4.1), such as alice@example.com, without a display name or angle
// brackets.
func validateEmail(email string) error {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || strings.ContainsFunc(email, unicode.IsControl) {
		return fmt.Errorf("%q is not an e-mail address such as alice@example.com", email)
	}
	return nil
}

// maxDisplayText bounds a name or description shown on a page, in
// characters.
const maxDisplayText = 200

// validateDisplayText checks text shown to people on the pages (a client's
// or user's name, a scope description): empty, or without control
// characters, leading or trailing spaces, and at most maxDisplayText
// characters.
func validateDisplayText(s string) error {
	switch {
	case strings.TrimSpace(s) != s || strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("must have no control characters and no leading or trailing spaces")
	case utf8.RuneCountInString(s) > maxDisplayText:
		return fmt.Errorf("longer than %d characters", maxDisplayText)
	}
	return nil
}

// isLoopback reports whether host is a loopback IP or "localhost".
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// configAuthMethods are the token_endpoint_auth_method values the example
// server offers.
var configAuthMethods = []string{oauthkit.AuthMethodSecretBasic, oauthkit.AuthMethodSecretPost, oauthkit.AuthMethodClientSecretJWT,
	oauthkit.AuthMethodPrivateKeyJWT, oauthkit.AuthMethodNone}

// minSecretJWTLen is the shortest secret of a client_secret_jwt client: the
// library's minimum, the size of HS256's hash.
const minSecretJWTLen = 32

// validateAuthMethod checks the client's token_endpoint_auth_method, if it
// names one, against its secret and keys, and its jwks; path is the
// client's.
func (c *clientConfig) validateAuthMethod(path string) error {
	field := path + ".token_endpoint_auth_method"
	if len(c.JWKS) > 0 && c.AuthMethod != oauthkit.AuthMethodPrivateKeyJWT {
		switch {
		case !c.uses(grants.GrantTypeJWTBearer):
			return fieldError(path+".jwks", `the client's public keys serve only "token_endpoint_auth_method": "private_key_jwt" and the assertions of the grant `+grants.GrantTypeJWTBearer+`; name that method or grant type, or remove jwks`)
		case c.Public:
			return fieldError(path+".jwks", "a public client has no credentials; a client that signs its own assertions holds a private key: remove \"public\": true")
		}
		if err := validateJWKS(c.JWKS, path+".jwks", ownerClient); err != nil {
			return err
		}
	}
	switch c.AuthMethod {
	case "":
		return nil
	case oauthkit.AuthMethodNone:
		switch {
		case !c.Public:
			return fieldError(field, `"none" is the method of a public client: set "public": true, or name client_secret_basic or client_secret_post`)
		case c.Secret != "":
			return fieldError(field, `"none" is the method of a public client, which has no secret: remove the secret, or name client_secret_basic or client_secret_post`)
		}
	case oauthkit.AuthMethodSecretBasic, oauthkit.AuthMethodSecretPost:
		if c.Public {
			return fieldError(field, fmt.Sprintf(`%q needs a secret; a public client uses "none"`, c.AuthMethod))
		}
	case oauthkit.AuthMethodPrivateKeyJWT:
		switch {
		case c.Public:
			return fieldError(field, `"private_key_jwt" is a method of a confidential client: remove "public": true`)
		case c.Secret != "":
			return fieldError(path+".secret", `a private_key_jwt client authenticates with its keys (jwks), not a secret: remove the secret`)
		case len(c.JWKS) == 0:
			return fieldError(path+".jwks", `required for private_key_jwt: the client's public keys, a JWK Set such as {"keys": [{"kty": "EC", "crv": "P-256", "x": "…", "y": "…"}]}`)
		}
		return validateJWKS(c.JWKS, path+".jwks", ownerClient)
	case oauthkit.AuthMethodClientSecretJWT:
		if c.Public {
			return fieldError(field, `"client_secret_jwt" needs a secret; a public client uses "none"`)
		}
	default:
		return fieldError(field, fmt.Sprintf("unknown method %q; want one of %s", c.AuthMethod, strings.Join(configAuthMethods, ", ")))
	}
	return nil
}

// validScopeToken reports whether s is a scope-token of RFC 6749 §3.3.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

// printableASCII reports whether s has only VSCHAR (%x20-7E) characters.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
