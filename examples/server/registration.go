package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
)

// pathRegister is the client registration endpoint (RFC 7591 §3); each
// client's configuration endpoint (RFC 7592) is below it.
const pathRegister = "/register"

// registrationConfig is the config's "registration" object: dynamic client
// registration, open unless InitialAccessToken is set.
type registrationConfig struct {
	// InitialAccessToken, if set, must come with every registration request
	// as a Bearer token (RFC 7591 §3).
	InitialAccessToken string
}

// fileRegistration is the JSON shape of "registration".
type fileRegistration struct {
	InitialAccessToken *string `json:"initial_access_token"`
}

// decodeRegistration decodes the registration object.
func decodeRegistration(raw json.RawMessage) (*registrationConfig, error) {
	var fr fileRegistration
	if err := decodeStrict(raw, &fr, "registration"); err != nil {
		return nil, err
	}
	rc := &registrationConfig{}
	if fr.InitialAccessToken != nil {
		rc.InitialAccessToken = *fr.InitialAccessToken
		if err := validInitialAccessToken(rc.InitialAccessToken); err != nil {
			return nil, fieldError("registration.initial_access_token", err.Error())
		}
	}
	return rc, nil
}

// validInitialAccessToken checks that a token can be sent as a Bearer
// token (RFC 6750 §2.1's b64token) and is not trivially guessed.
func validInitialAccessToken(t string) error {
	if len(t) < 16 {
		return fmt.Errorf("want at least 16 characters, got %d (or leave the field out for open registration)", len(t))
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || bytes.IndexByte([]byte("-._~+/"), c) >= 0) {
			return fmt.Errorf("character %q is not allowed in a Bearer token: use letters, digits and -._~+/", c)
		}
	}
	return nil
}

// registrationsPerMinute bounds the registrations from one address, and
// apart from them its requests at the configuration endpoints: open
// registration must not let one sender fill the store.
const registrationsPerMinute = 20

// setUpRegistration turns on client registration in oc when the config
// asks for it: the registration endpoint at {issuer}/register, storing
// clients in the store every endpoint reads, for the authorization code,
// refresh and client credentials grants and the config's scopes, and a
// rate limit per address besides the token endpoint's.
func setUpRegistration(oc *oauthkit.Config, cfg config, st *stores) error {
	if cfg.Registration == nil {
		return nil
	}
	registry, ok := st.clients.(oauthkit.ClientRegistry)
	if !ok {
		return fmt.Errorf("registration: the %s store cannot register clients", st.desc)
	}
	if !hasGrant(oc.Grants, oauthkit.GrantTypeClientCredentials) {
		oc.Grants = append(oc.Grants, grants.ClientCredentials{})
	}
	oc.Registration = &oauthkit.RegistrationConfig{
		Store: registry,
		GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken,
			oauthkit.GrantTypeClientCredentials},
	}
	if t := cfg.Registration.InitialAccessToken; t != "" {
		oc.Registration.InitialAccessToken = oauthkit.InitialAccessTokens(t)
	}
	oc.Endpoints.Registration = cfg.Issuer + pathRegister
	limits := byEndpoint{
		"registration":         &oauthkit.TokenBucket{Rate: registrationsPerMinute / 60.0, Burst: registrationsPerMinute},
		"client_configuration": &oauthkit.TokenBucket{Rate: registrationsPerMinute / 60.0, Burst: registrationsPerMinute},
	}
	if oc.RateLimiter != nil {
		limits[endpointToken] = oc.RateLimiter
	}
	oc.RateLimiter = limits
	return nil
}

// byEndpoint is a rate limit per endpoint; endpoints it does not name are
// not limited.
type byEndpoint map[string]oauthkit.RateLimiter

func (b byEndpoint) Allow(ctx context.Context, key oauthkit.RateLimitKey) (bool, time.Duration) {
	if l, ok := b[key.Endpoint]; ok {
		return l.Allow(ctx, key)
	}
	return true, 0
}
