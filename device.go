package oauthkit

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GrantTypeDeviceCode is the grant type of the device authorization grant
// (RFC 8628 §3.4): a client registered for it may ask for device
// authorizations and redeem their device codes.
const GrantTypeDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// Defaults for the zero values of DeviceConfig.
const (
	// DefaultDeviceLifetime is how long a device code and its user code
	// live. The user has to reach another device, sign in and decide, which
	// takes minutes; every minute more is a minute more to guess a user
	// code (RFC 8628 §5.1), so the default is the ten minutes
	// MaxCodeLifetime allows an authorization code.
	DefaultDeviceLifetime = 10 * time.Minute
	// DefaultDeviceInterval is the least time a device waits between polls,
	// RFC 8628 §3.2's default.
	DefaultDeviceInterval = 5 * time.Second
	// DefaultUserCodeRate and DefaultUserCodeBurst are the limit on user
	// code lookups of DeviceConfig.UserCodeLimiter's default: bursts of ten,
	// then one every twelve seconds (five a minute), per limiter key.
	DefaultUserCodeRate  = 1.0 / 12
	DefaultUserCodeBurst = 10
)

// DeviceConfig turns on the device authorization grant (RFC 8628): the
// device authorization endpoint, the device_code grant at the token
// endpoint, and the calls the host's verification page makes
// (Server.DeviceRequest, ApproveDevice, DenyDevice).
type DeviceConfig struct {
	// Store keeps the device authorizations. Required.
	Store DeviceStore
	// VerificationURI is the host's verification page, where the user
	// enters the user code (RFC 8628 §3.2, verification_uri): an absolute
	// https URL without a fragment (http only for loopback hosts), short
	// enough to type. Its verification_uri_complete adds the user_code
	// query parameter. Required.
	VerificationURI string
	// Lifetime is how long the device code and user code live. Zero means
	// DefaultDeviceLifetime; it must be a whole number of seconds
	// (expires_in).
	Lifetime time.Duration
	// Interval is the least time the device must wait between polls of the
	// token endpoint. Zero means DefaultDeviceInterval; it must be a whole
	// number of seconds, at least one (interval). A poll is answered
	// slow_down, and the interval grows by five seconds (RFC 8628 §3.5),
	// when it comes earlier than the interval less a fifth of Interval (4 s
	// of the default 5 s, 9 s after one slow_down): clients poll
	// on a timer, and network delays vary.
	Interval time.Duration
	// UserCodeLimiter bounds the user-code lookups of the verification page
	// per limiter key (Server.DeviceRequest), against guessing (RFC 8628
	// §5.1: a user code has 34.6 bits); it is asked with
	// RateLimitKey.Endpoint "device_verification" and RateLimitKey.Caller
	// the limiter key. Nil means a TokenBucket of DefaultUserCodeBurst
	// lookups refilling at DefaultUserCodeRate per second, in this process.
	UserCodeLimiter RateLimiter
}

// deviceState is the validated DeviceConfig a Server runs with.
type deviceState struct {
	DeviceConfig
	lifetimeSeconds, intervalSeconds int64
}

// newDeviceState validates c and fills in its defaults.
func newDeviceState(c DeviceConfig, now func() time.Time) (*deviceState, error) {
	if c.Store == nil {
		return nil, errors.New("oauthkit: Config.Device.Store is required")
	}
	if err := validateVerificationURI(c.VerificationURI); err != nil {
		return nil, err
	}
	if c.Lifetime == 0 {
		c.Lifetime = DefaultDeviceLifetime
	}
	if c.Interval == 0 {
		c.Interval = DefaultDeviceInterval
	}
	switch {
	case c.Lifetime < time.Second || c.Lifetime%time.Second != 0:
		return nil, errors.New("oauthkit: Config.Device.Lifetime must be a positive whole number of seconds")
	case c.Interval < time.Second || c.Interval%time.Second != 0:
		return nil, errors.New("oauthkit: Config.Device.Interval must be a whole number of seconds, at least one")
	case c.Interval >= c.Lifetime:
		return nil, errors.New("oauthkit: Config.Device.Interval must be shorter than its Lifetime")
	}
	if c.UserCodeLimiter == nil {
		c.UserCodeLimiter = &TokenBucket{Rate: DefaultUserCodeRate, Burst: DefaultUserCodeBurst, Now: now}
	}
	return &deviceState{
		DeviceConfig:    c,
		lifetimeSeconds: int64(c.Lifetime / time.Second),
		intervalSeconds: int64(c.Interval / time.Second),
	}, nil
}

// validateVerificationURI checks DeviceConfig.VerificationURI.
func validateVerificationURI(v string) error {
	u, err := url.Parse(v)
	switch {
	case v == "":
		return errors.New("oauthkit: Config.Device.VerificationURI is required")
	case err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil || strings.Contains(v, "#"):
		return fmt.Errorf("oauthkit: Config.Device.VerificationURI %q must be an absolute URL with no fragment or user info", v)
	case u.Scheme == "https", u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("oauthkit: Config.Device.VerificationURI %q must use https (http only for loopback)", v)
	}
}

// pollAllowance is the share of the announced interval a poll may come
// early without slow_down: clients poll on a timer (golang.org/x/oauth2 on
// a time.Ticker), so a poll's network delay that is shorter than the last
// one's makes it arrive a little before the interval has passed. The
// DeviceStore measures polls against DeviceAuthorization.Interval, so the
// server stores the announced interval less this share, and the two grow
// by five seconds together at each slow_down.
const pollAllowance = 5 // the interval's fifth

const (
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLength   = 8
	// userCodeMaxInput bounds what canonicalUserCode reads: a code typed
	// with generous spacing fits many times over.
	userCodeMaxInput = 64
)

// newUserCode draws a user code in canonical form from r (nil means
// crypto/rand).
//
// A user code is 8 characters drawn uniformly from the 20 consonants
// BCDFGHJKLMNPQRSTVWXZ (RFC 8628 §6.1: no vowels, so no words; no digits;
// case-insensitive), shown as XXXX-XXXX: 20^8 = 2.56 × 10^10 codes, 34.6
// bits. Each byte below 240, the largest multiple of 20 that fits, gives a
// character (its value modulo 20); bytes from 240 up are drawn again, so
// that every character is equally likely (no modulo bias).
//
// Guessing is bounded twice (RFC 8628 §5.1). A code lives
// DefaultDeviceLifetime (10 minutes), and the verification page's lookups
// are limited per limiter key, by default to a burst of 10 then 5 a minute:
// at most 60 guesses per key over a code's life. With N codes pending at
// once, a guess hits one with probability p = N / 2.56 × 10^10; with a
// hundred thousand pending, 60 guesses hit with probability 2.3 × 10^-4,
// and an even chance of one hit takes about ln 2 / p = 1.8 × 10^5 guesses,
// 3 000 keys for ten minutes. What a key is (a network address, a session,
// an account) is the host's choice, and it bounds the attacker's keys. A
// hit lets the guesser approve a stranger's device into the guesser's own
// account, or deny it; never into the stranger's.
//
// Codes are compared in a canonical form (canonicalUserCode): upper case,
// dashes and spaces removed. The store keeps only HashToken of that form.
func newUserCode(r io.Reader) (string, error) {
	var code [userCodeLength]byte
	var buf [16]byte
	n := 0
	for n < len(code) {
		if r == nil {
			rand.Read(buf[:])
		} else if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("oauthkit: reading randomness: %w", err)
		}
		for _, b := range buf {
			if b >= 240 {
				continue
			}
			code[n] = userCodeAlphabet[b%20]
			if n++; n == len(code) {
				break
			}
		}
	}
	return string(code[:]), nil
}

// canonicalUserCode returns the canonical form of a user code as a person
// typed it: upper case, without dashes and spaces. It reports false for
// anything that cannot be a user code of this server.
func canonicalUserCode(typed string) (string, bool) {
	if len(typed) > userCodeMaxInput {
		return "", false
	}
	var code [userCodeLength]byte
	n := 0
	for i := 0; i < len(typed); i++ {
		c := typed[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if n == len(code) || strings.IndexByte(userCodeAlphabet, c) < 0 {
			return "", false
		}
		code[n] = c
		n++
	}
	if n != len(code) {
		return "", false
	}
	return string(code[:]), true
}

// formatUserCode returns a canonical user code as shown: XXXX-XXXX.
func formatUserCode(canonical string) string {
	return canonical[:4] + "-" + canonical[4:]
}

// The device authorization endpoint.

// DeviceAuthorizationHandler returns the device authorization endpoint
// (RFC 8628 §3.1), to be mounted at Endpoints.DeviceAuthorization. It
// serves POST requests as the token endpoint does (form body, client
// authentication, Config.RateLimiter with RateLimitKey.Endpoint
// "device_authorization", JSON errors, Cache-Control: no-store) from clients
// registered for GrantTypeDeviceCode (unauthorized_client otherwise); their
// scope is resolved as at the token endpoint and their resource parameters
// (RFC 8707) checked against Config.Resources and Client.Resources. The
// answer is RFC 8628 §3.2's: a 256-bit device_code, a user_code, the
// verification URIs, expires_in and interval. Without Config.Device it
// answers 404.
func (s *Server) DeviceAuthorizationHandler() http.Handler {
	if s.device == nil {
		return http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.backChannel(w, r, "device_authorization", resourceRules,
			func(ctx context.Context, _ *http.Request, form url.Values, client *Client, _ Codec) (encoded, *Error) {
				resp, oerr := s.authorizeDevice(ctx, form, client)
				if oerr != nil {
					return encoded{}, oerr
				}
				return encoded{json: appendJSONBuffer(resp.appendJSON)}, nil
			})
	})
}

// deviceAuthorizationResponse is RFC 8628 §3.2's response.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

func (r *deviceAuthorizationResponse) appendJSON(b []byte) []byte {
	body, _ := json.Marshal(r) // strings and numbers: cannot fail
	return append(b, body...)
}

// maxCodeDraws is how many times the device authorization endpoint draws
// new codes when the store holds them already (ErrExists): a user code
// repeats among a million pending ones once in 25 600 draws, so a fourth
// draw means a broken store or source of randomness.
const maxCodeDraws = 4

// authorizeDevice serves a device authorization request of client.
func (s *Server) authorizeDevice(ctx context.Context, form url.Values, client *Client) (*deviceAuthorizationResponse, *Error) {
	if !client.AllowsGrant(GrantTypeDeviceCode) {
		return nil, ErrUnauthorizedClient.WithDescription("client is not allowed the device_code grant")
	}
	scope, oerr := resolveScope(client, form.Get("scope"))
	if oerr != nil {
		return nil, oerr
	}
	resources, oerr := s.resolveResources(client, form["resource"])
	if oerr != nil {
		return nil, oerr
	}
	d := s.device
	now := s.now()
	for range maxCodeDraws {
		deviceCode, err := randomToken(s.cfg.Rand)
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		userCode, err := newUserCode(s.cfg.Rand)
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		err = d.Store.CreateDeviceAuthorization(ctx, &DeviceAuthorization{
			ID:         HashToken(deviceCode),
			UserCodeID: HashToken(userCode),
			ClientID:   client.ID,
			Scope:      scope,
			Resources:  resources,
			ExpiresAt:  now.Add(d.Lifetime),
			Interval:   d.Interval - d.Interval/pollAllowance,
			Status:     DevicePending,
		})
		switch {
		case errors.Is(err, ErrExists):
			continue
		case err != nil:
			return nil, ErrServerError.Wrap(err)
		}
		shown := formatUserCode(userCode)
		return &deviceAuthorizationResponse{
			DeviceCode:              deviceCode,
			UserCode:                shown,
			VerificationURI:         d.VerificationURI,
			VerificationURIComplete: verificationURIComplete(d.VerificationURI, shown),
			ExpiresIn:               d.lifetimeSeconds,
			Interval:                d.intervalSeconds,
		}, nil
	}
	return nil, ErrServerError.Wrap(fmt.Errorf("oauthkit: the DeviceStore held %d fresh pairs of codes in a row", maxCodeDraws))
}

// verificationURIComplete is the verification URI with the user_code query
// parameter (RFC 8628 §3.3.1).
func verificationURIComplete(verificationURI, userCode string) string {
	sep := "?"
	if strings.Contains(verificationURI, "?") {
		sep = "&"
	}
	return verificationURI + sep + "user_code=" + url.QueryEscape(userCode)
}

// The device_code grant.

// deviceCodeGrant redeems device codes at the token endpoint (RFC 8628
// §3.4, §3.5). The scope is that of the device authorization request; the
// token request's scope parameter, which RFC 8628 §3.4 does not define
// (golang.org/x/oauth2 repeats it), is ignored. Its resource parameters
// narrow the resources of the device authorization request, as they do an
// authorization code's, and may not widen them (RFC 8707 §2.2).
type deviceCodeGrant struct{ s *Server }

func (deviceCodeGrant) GrantType() string { return GrantTypeDeviceCode }

// HandleGrant makes one PollDeviceAuthorization and answers from what it
// returns: the polling errors of RFC 8628 §3.5 while it is pending, denied
// or expired, invalid_grant for an unknown, used or other client's device
// code, and the grant once it is approved.
func (g deviceCodeGrant) HandleGrant(ctx context.Context, req *TokenRequest) (*Grant, error) {
	raw := req.Form.Get("device_code")
	if raw == "" {
		return nil, ErrInvalidRequest.WithDescription("missing device_code")
	}
	a, err := g.s.device.Store.PollDeviceAuthorization(ctx, HashToken(raw), req.Client.ID, req.Time)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrInvalidGrant.WithDescription("invalid device_code")
	case err != nil:
		return nil, ErrServerError.Wrap(err)
	case !req.Time.Before(a.ExpiresAt):
		return nil, ErrExpiredToken
	}
	switch a.Status {
	case DevicePending:
		// The store's own rule: a poll less than Interval after the last
		// one grew the interval, and is told so.
		if !a.LastPolledAt.IsZero() && req.Time.Sub(a.LastPolledAt) < a.Interval {
			return nil, ErrSlowDown
		}
		return nil, ErrAuthorizationPending
	case DeviceDenied:
		return nil, ErrAccessDenied.WithDescription("the user denied the request")
	case DeviceRedeemed:
		return nil, ErrInvalidGrant.WithDescription("device_code already used")
	case DeviceApproved:
		return &Grant{
			Subject:      a.Subject,
			Scope:        a.Scope,
			AuthTime:     a.AuthTime,
			ACR:          a.ACR,
			RefreshToken: true,
			IDToken:      true,
			// The token request may narrow them (Server.audiences).
			granted: a.Resources,
		}, nil
	default:
		return nil, ErrServerError.Wrap(fmt.Errorf("oauthkit: the DeviceStore returned status %d", a.Status))
	}
}

// The verification page.

// DeviceRequest is a pending device authorization, as the host's
// verification and consent pages show it.
type DeviceRequest struct {
	// UserCode is the user code, as shown (XXXX-XXXX): the page carries it
	// from one step to the next and asks for the request again at each.
	UserCode string
	// Client is the client (the device) that asks. The caller does not
	// modify it.
	Client *Client
	// Scope is the requested scope.
	Scope []string
	// Resources are the requested resource indicators (RFC 8707), or nil.
	Resources []string
	// ExpiresAt is when the request expires.
	ExpiresAt time.Time

	userCodeID string
}

// DeviceApproval is the resource owner's approval of a device request.
type DeviceApproval struct {
	// Subject identifies the resource owner. Required.
	Subject string
	// AuthTime is when the resource owner authenticated, or zero.
	AuthTime time.Time
	// ACR is the authentication context class reference satisfied, or empty.
	ACR string
}

// ErrUnknownUserCode is returned, wrapped with ErrNotFound, by
// Server.DeviceRequest, ApproveDevice and DenyDevice for a user code that is
// malformed, unknown, expired or already decided: the page asks the user
// to check the code or start again on the device.
var ErrUnknownUserCode = fmt.Errorf("oauthkit: unknown, expired or already decided user code: %w", ErrNotFound)

// DeviceRequest returns the pending device authorization whose user code
// is userCode, as a person typed it (case and dashes or spaces do not
// matter), for the host's verification page (RFC 8628 §3.3) to show and
// then approve or deny. Every call counts against DeviceConfig's
// UserCodeLimiter for limiterKey, which the host chooses, such as the
// user's network address or session, and must not leave empty: beyond the
// limit it returns ErrTemporarilyUnavailable with status 429 and a
// description that says how long to wait. A code that is malformed,
// unknown, expired or already decided is ErrUnknownUserCode (errors.Is
// ErrNotFound). Other errors are faults of the stores.
func (s *Server) DeviceRequest(ctx context.Context, userCode, limiterKey string) (*DeviceRequest, error) {
	if s.device == nil {
		return nil, errors.New("oauthkit: Config.Device is not set")
	}
	if limiterKey == "" {
		return nil, errors.New("oauthkit: DeviceRequest needs a limiter key")
	}
	if ok, wait := s.device.UserCodeLimiter.Allow(ctx, RateLimitKey{Endpoint: "device_verification", Caller: limiterKey}); !ok {
		e := ErrTemporarilyUnavailable.WithDescription("too many user codes tried; try again in %d seconds", max(1, int64((wait+time.Second-1)/time.Second)))
		e.Status = http.StatusTooManyRequests
		return nil, e
	}
	canonical, ok := canonicalUserCode(userCode)
	if !ok {
		return nil, ErrUnknownUserCode
	}
	id := HashToken(canonical)
	a, err := s.device.Store.DeviceAuthorizationByUserCode(ctx, id, s.now())
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrUnknownUserCode
	case err != nil:
		return nil, err
	}
	client, err := s.cfg.Clients.Client(ctx, a.ClientID)
	switch {
	case errors.Is(err, ErrNotFound): // unregistered since
		return nil, ErrUnknownUserCode
	case err != nil:
		return nil, err
	}
	return &DeviceRequest{
		UserCode:   formatUserCode(canonical),
		Client:     client,
		Scope:      a.Scope,
		Resources:  a.Resources,
		ExpiresAt:  a.ExpiresAt,
		userCodeID: id,
	}, nil
}

// ApproveDevice records the resource owner's approval of req, which
// DeviceRequest returned: the device's next poll gets the tokens. Of
// concurrent decisions on one request, one wins; the others, and a request
// expired or decided meanwhile, get ErrUnknownUserCode. Other errors are
// faults of the store.
func (s *Server) ApproveDevice(ctx context.Context, req *DeviceRequest, approval DeviceApproval) error {
	if approval.Subject == "" {
		return errors.New("oauthkit: DeviceApproval.Subject is required")
	}
	return s.decideDevice(ctx, req, &DeviceAuthorization{Subject: approval.Subject, AuthTime: approval.AuthTime, ACR: approval.ACR})
}

// DenyDevice records the resource owner's refusal of req, which
// DeviceRequest returned: the device's next poll gets access_denied. Its
// errors are ApproveDevice's.
func (s *Server) DenyDevice(ctx context.Context, req *DeviceRequest) error {
	return s.decideDevice(ctx, req, nil)
}

func (s *Server) decideDevice(ctx context.Context, req *DeviceRequest, approval *DeviceAuthorization) error {
	switch {
	case s.device == nil:
		return errors.New("oauthkit: Config.Device is not set")
	case req == nil || req.userCodeID == "":
		return errors.New("oauthkit: decide on a DeviceRequest that Server.DeviceRequest returned")
	}
	err := s.device.Store.DecideDeviceAuthorization(ctx, req.userCodeID, s.now(), approval)
	if errors.Is(err, ErrNotFound) {
		return ErrUnknownUserCode
	}
	return err
}
