package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit"
)

// Store is a store that keeps everything an oauthkit.Server keeps, for any
// number of tenants: [github.com/oauthkit/oauthkit/storage/memory.Store]
// and [github.com/oauthkit/oauthkit/storage/postgres.Store] are such
// stores. [Scope] hands out one tenant's view of it.
type Store interface {
	oauthkit.ClientRegistry
	oauthkit.ClientCapper
	oauthkit.ClientRevoker
	oauthkit.CodeStore
	oauthkit.CodeRedeemer
	oauthkit.TokenStore
	oauthkit.SubjectRevoker
	oauthkit.ReplayCache
	oauthkit.DeviceStore
	oauthkit.PushedRequestStore
	// DeleteKeyPrefix deletes every client, code, token, revoked grant,
	// device authorization and pushed request whose ID starts with prefix,
	// and refuses an empty prefix. It may leave replay keys, which expire
	// within minutes. [View.DeleteAll] calls it.
	DeleteKeyPrefix(ctx context.Context, prefix string) error
}

// Separator ends the tenant's prefix of every key a [View] stores. No
// tenant ID holds it, so a key's tenant is the part before its first
// Separator, whatever follows.
const Separator = "/"

// ErrInvalidID is returned by [Scope] for a tenant ID that is not one to
// sixty-three lower-case ASCII letters, digits and hyphens, starting with a
// letter or digit.
var ErrInvalidID = errors.New("tenant: an ID is 1 to 63 of a-z, 0-9 and -, not starting with -")

// ValidID reports whether id may name a tenant: 1 to 63 characters of a-z,
// 0-9 and "-", not starting with "-" (a DNS label's alphabet, so that the
// ID fits a host name or a URL path segment unescaped).
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 63 || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// View is one tenant's part of a shared [Store]. It implements every store
// interface of oauthkit, as Store does, and passes each call on to the
// shared store with every key (every ID, client ID, grant ID, user code ID
// and replay key) and every subject prefixed with the tenant's ID and
// [Separator]; it strips the prefix from what the shared store returns.
// Records stored through one View are thus out of reach of every other:
// whatever ID a caller presents, the View looks it up under its own prefix.
//
// A View is safe for concurrent use if its Store is. It holds no state but
// its Store and prefix, so making one is cheap.
type View struct {
	shared Store
	id     string
	prefix string
}

var (
	_ oauthkit.ClientRegistry     = (*View)(nil)
	_ oauthkit.CodeStore          = (*View)(nil)
	_ oauthkit.CodeRedeemer       = (*View)(nil)
	_ oauthkit.TokenStore         = (*View)(nil)
	_ oauthkit.SubjectRevoker     = (*View)(nil)
	_ oauthkit.ReplayCache        = (*View)(nil)
	_ oauthkit.DeviceStore        = (*View)(nil)
	_ oauthkit.PushedRequestStore = (*View)(nil)
)

// Scope returns the view of shared that belongs to the tenant id, or an
// error wrapping [ErrInvalidID] if id is not a [ValidID].
func Scope(shared Store, id string) (*View, error) {
	if shared == nil {
		return nil, errors.New("tenant: Scope needs a store")
	}
	if !ValidID(id) {
		return nil, fmt.Errorf("tenant %q: %w", id, ErrInvalidID)
	}
	return &View{shared: shared, id: id, prefix: id + Separator}, nil
}

// ID returns the tenant's ID.
func (v *View) ID() string { return v.id }

// key returns k under the tenant's prefix. An empty k stays empty, so that
// the shared store refuses a record that lacks a key as it would without
// the View.
func (v *View) key(k string) string {
	if k == "" {
		return ""
	}
	return v.prefix + k
}

// keys puts each of keys under the tenant's prefix, in place, as key does,
// in one allocation for all of them.
func (v *View) keys(keys ...*string) {
	n := 0
	for _, k := range keys {
		if *k != "" {
			n += len(v.prefix) + len(*k)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, k := range keys {
		if *k != "" {
			b.WriteString(v.prefix)
			b.WriteString(*k)
		}
	}
	all := b.String()
	for _, k := range keys {
		if *k != "" {
			n := len(v.prefix) + len(*k)
			*k, all = all[:n], all[n:]
		}
	}
}

// errForeign is the internal fault of a record without the tenant's prefix
// coming back from the shared store, which would mean the shared store
// broke its contract: it is never handed to a caller as the record.
var errForeign = errors.New("tenant: the shared store returned a record of another tenant")

// unkey strips the tenant's prefix from a key the shared store returned.
func (v *View) unkey(k string) (string, error) {
	if k == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(k, v.prefix)
	if !ok {
		return "", errForeign
	}
	return rest, nil
}

// unkeys strips the tenant's prefix from each of keys, in place, stopping at
// the first error.
func (v *View) unkeys(keys ...*string) error {
	for _, k := range keys {
		var err error
		if *k, err = v.unkey(*k); err != nil {
			return err
		}
	}
	return nil
}

// DeleteAll deletes every record of the tenant from the shared store, for
// a tenant removed at run time: its clients, codes, tokens and records of
// revoked grants, device authorizations and pushed requests, so that
// nothing of it stays valid, even at a tenant made later with the same ID.
// (Replay keys may stay until they expire, a few minutes at most: a proof
// or assertion made for the removed tenant is then refused at its
// successor, never accepted.) Stop serving the tenant first: a request
// still running may store a record after DeleteAll.
func (v *View) DeleteAll(ctx context.Context) error {
	return v.shared.DeleteKeyPrefix(ctx, v.prefix)
}

// Clients

// Client returns the tenant's client with the given ID; see
// oauthkit.ClientStore.
func (v *View) Client(ctx context.Context, id string) (*oauthkit.Client, error) {
	if id == "" {
		return nil, fmt.Errorf("client: %w", oauthkit.ErrNotFound)
	}
	c, err := v.shared.Client(ctx, v.key(id))
	if err != nil {
		return nil, err
	}
	return v.outClient(c)
}

func (v *View) outClient(c *oauthkit.Client) (*oauthkit.Client, error) {
	out := *c // the shared store's client is not ours to modify
	if err := v.unkeys(&out.ID); err != nil {
		return nil, err
	}
	return &out, nil
}

// inClient returns c under the tenant's prefix. A client without an ID is
// refused here, as not every store refuses it, so that every client a view
// stores is under its prefix.
func (v *View) inClient(c *oauthkit.Client) (*oauthkit.Client, error) {
	if c == nil || c.ID == "" {
		return nil, errNoClientID
	}
	in := *c
	in.ID = v.key(c.ID)
	return &in, nil
}

var errNoClientID = errors.New("tenant: client needs an ID")

// CreateClient adds a client of the tenant; see oauthkit.ClientRegistry.
func (v *View) CreateClient(ctx context.Context, c *oauthkit.Client) error {
	in, err := v.inClient(c)
	if err != nil {
		return err
	}
	return v.shared.CreateClient(ctx, in)
}

// UpdateClient replaces a client of the tenant; see
// oauthkit.ClientRegistry.
func (v *View) UpdateClient(ctx context.Context, c *oauthkit.Client) error {
	in, err := v.inClient(c)
	if err != nil {
		return err
	}
	return v.shared.UpdateClient(ctx, in)
}

// DeleteClient removes a client of the tenant; see
// oauthkit.ClientRegistry.
func (v *View) DeleteClient(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return v.shared.DeleteClient(ctx, v.key(id))
}

// CreateClientCapped adds a client of the tenant unless its source has
// max clients of the tenant already; see oauthkit.ClientCapper. Sources are
// counted per tenant: the same address registering at two tenants counts
// once at each.
func (v *View) CreateClientCapped(ctx context.Context, c *oauthkit.Client, source string, max int) error {
	in, err := v.inClient(c)
	if err != nil {
		return err
	}
	return v.shared.CreateClientCapped(ctx, in, v.key(source), max)
}

// RevokeClientTokens revokes every token of a client of the tenant; see
// oauthkit.ClientRevoker. A client of another tenant with the same ID
// keeps its tokens.
func (v *View) RevokeClientTokens(ctx context.Context, clientID string) error {
	if clientID == "" {
		return nil
	}
	return v.shared.RevokeClientTokens(ctx, v.key(clientID))
}

// Codes

func (v *View) inCode(c *oauthkit.AuthorizationCode) *oauthkit.AuthorizationCode {
	if c == nil {
		return nil
	}
	in := *c
	v.keys(&in.ID, &in.GrantID, &in.ClientID, &in.Subject)
	return &in
}

func (v *View) outCode(c *oauthkit.AuthorizationCode) (*oauthkit.AuthorizationCode, error) {
	if c == nil {
		return nil, nil
	}
	if err := v.unkeys(&c.ID, &c.GrantID, &c.ClientID, &c.Subject); err != nil {
		return nil, err
	}
	return c, nil
}

// CreateCode stores a code of the tenant; see oauthkit.CodeStore.
func (v *View) CreateCode(ctx context.Context, c *oauthkit.AuthorizationCode) error {
	return v.shared.CreateCode(ctx, v.inCode(c))
}

// ConsumeCode consumes a code of the tenant; see oauthkit.CodeStore.
func (v *View) ConsumeCode(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.AuthorizationCode, error) {
	if id == "" || clientID == "" {
		return nil, fmt.Errorf("code: %w", oauthkit.ErrNotFound)
	}
	c, err := v.shared.ConsumeCode(ctx, v.key(id), v.key(clientID), now)
	c, ferr := v.outCode(c)
	if ferr != nil {
		return nil, ferr
	}
	return c, err
}

// RedeemCode redeems a code of the tenant and stores its tokens in one
// step; see oauthkit.CodeRedeemer.
func (v *View) RedeemCode(ctx context.Context, id, clientID string, now time.Time,
	issue func(*oauthkit.AuthorizationCode) ([]*oauthkit.Token, error)) (*oauthkit.AuthorizationCode, error) {
	if id == "" || clientID == "" {
		return nil, fmt.Errorf("code: %w", oauthkit.ErrNotFound)
	}
	c, err := v.shared.RedeemCode(ctx, v.key(id), v.key(clientID), now,
		func(c *oauthkit.AuthorizationCode) ([]*oauthkit.Token, error) {
			out := *c
			if _, err := v.outCode(&out); err != nil {
				return nil, err
			}
			tokens, err := issue(&out)
			if err != nil {
				return nil, err
			}
			return v.inTokens(tokens), nil
		})
	c, ferr := v.outCode(c)
	if ferr != nil {
		return nil, ferr
	}
	return c, err
}

// Tokens

func (v *View) inToken(t *oauthkit.Token) *oauthkit.Token {
	if t == nil {
		return nil
	}
	in := *t
	v.keys(&in.ID, &in.GrantID, &in.ParentID, &in.ClientID, &in.Subject)
	return &in
}

func (v *View) inTokens(tokens []*oauthkit.Token) []*oauthkit.Token {
	in := make([]*oauthkit.Token, len(tokens))
	for i, t := range tokens {
		in[i] = v.inToken(t)
	}
	return in
}

// CreateTokens stores tokens of the tenant; see oauthkit.TokenStore.
func (v *View) CreateTokens(ctx context.Context, tokens ...*oauthkit.Token) error {
	return v.shared.CreateTokens(ctx, v.inTokens(tokens)...)
}

// Token returns a token of the tenant; see oauthkit.TokenStore.
func (v *View) Token(ctx context.Context, id string, now time.Time) (*oauthkit.Token, error) {
	if id == "" {
		return nil, fmt.Errorf("token: %w", oauthkit.ErrNotFound)
	}
	t, err := v.shared.Token(ctx, v.key(id), now)
	if err != nil {
		return nil, err
	}
	if err := v.unkeys(&t.ID, &t.GrantID, &t.ParentID, &t.ClientID, &t.Subject); err != nil {
		return nil, err
	}
	return t, nil
}

// RotateRefreshToken exchanges a refresh token of the tenant; see
// oauthkit.TokenStore.
func (v *View) RotateRefreshToken(ctx context.Context, id string, now time.Time, grace time.Duration, next ...*oauthkit.Token) error {
	if id == "" {
		return fmt.Errorf("refresh token: %w", oauthkit.ErrNotFound)
	}
	return v.shared.RotateRefreshToken(ctx, v.key(id), now, grace, v.inTokens(next)...)
}

// RevokeToken revokes a token of the tenant; see oauthkit.TokenStore.
func (v *View) RevokeToken(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return v.shared.RevokeToken(ctx, v.key(id))
}

// RevokeGrant revokes a grant of the tenant; see oauthkit.TokenStore.
func (v *View) RevokeGrant(ctx context.Context, grantID string) error {
	if grantID == "" {
		return nil
	}
	return v.shared.RevokeGrant(ctx, v.key(grantID))
}

// RevokeSubject revokes every grant of the tenant's resource owner subject;
// see oauthkit.SubjectRevoker. The View stores subjects under the tenant's
// prefix, so a user of another tenant with the same subject keeps theirs.
func (v *View) RevokeSubject(ctx context.Context, subject string) error {
	if subject == "" {
		return nil
	}
	return v.shared.RevokeSubject(ctx, v.key(subject))
}

// Replay keys

// Remember records a single-use key of the tenant; see
// oauthkit.ReplayCache. The same key remembered by two tenants is new to
// each.
func (v *View) Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error) {
	return v.shared.Remember(ctx, v.prefix+key, now, expiresAt)
}

// Device authorizations

func (v *View) outDevice(a *oauthkit.DeviceAuthorization) (*oauthkit.DeviceAuthorization, error) {
	if a == nil {
		return nil, nil
	}
	if err := v.unkeys(&a.ID, &a.UserCodeID, &a.ClientID, &a.Subject); err != nil {
		return nil, err
	}
	return a, nil
}

// CreateDeviceAuthorization stores a device authorization of the tenant;
// see oauthkit.DeviceStore.
func (v *View) CreateDeviceAuthorization(ctx context.Context, a *oauthkit.DeviceAuthorization) error {
	if a == nil {
		return v.shared.CreateDeviceAuthorization(ctx, nil)
	}
	in := *a
	v.keys(&in.ID, &in.UserCodeID, &in.ClientID, &in.Subject)
	return v.shared.CreateDeviceAuthorization(ctx, &in)
}

// DeviceAuthorizationByUserCode returns a pending device authorization of
// the tenant; see oauthkit.DeviceStore.
func (v *View) DeviceAuthorizationByUserCode(ctx context.Context, userCodeID string, now time.Time) (*oauthkit.DeviceAuthorization, error) {
	if userCodeID == "" {
		return nil, fmt.Errorf("device authorization: %w", oauthkit.ErrNotFound)
	}
	a, err := v.shared.DeviceAuthorizationByUserCode(ctx, v.key(userCodeID), now)
	if err != nil {
		return nil, err
	}
	return v.outDevice(a)
}

// DecideDeviceAuthorization records the decision on a device authorization
// of the tenant; see oauthkit.DeviceStore.
func (v *View) DecideDeviceAuthorization(ctx context.Context, userCodeID string, now time.Time, approval *oauthkit.DeviceAuthorization) error {
	if userCodeID == "" {
		return fmt.Errorf("device authorization: %w", oauthkit.ErrNotFound)
	}
	if approval != nil {
		in := *approval
		in.Subject = v.key(approval.Subject)
		approval = &in
	}
	return v.shared.DecideDeviceAuthorization(ctx, v.key(userCodeID), now, approval)
}

// PollDeviceAuthorization records a poll of a device authorization of the
// tenant; see oauthkit.DeviceStore.
func (v *View) PollDeviceAuthorization(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.DeviceAuthorization, error) {
	if id == "" || clientID == "" {
		return nil, fmt.Errorf("device authorization: %w", oauthkit.ErrNotFound)
	}
	a, err := v.shared.PollDeviceAuthorization(ctx, v.key(id), v.key(clientID), now)
	a, ferr := v.outDevice(a)
	if ferr != nil {
		return nil, ferr
	}
	return a, err
}

// Pushed authorization requests

func (v *View) outPushed(r *oauthkit.PushedRequest, err error) (*oauthkit.PushedRequest, error) {
	if err != nil {
		return nil, err
	}
	if err := v.unkeys(&r.ID, &r.ClientID); err != nil {
		return nil, err
	}
	return r, nil
}

// CreatePushedRequest stores a pushed request of the tenant; see
// oauthkit.PushedRequestStore.
func (v *View) CreatePushedRequest(ctx context.Context, r *oauthkit.PushedRequest) error {
	if r == nil {
		return v.shared.CreatePushedRequest(ctx, nil)
	}
	in := *r
	v.keys(&in.ID, &in.ClientID)
	return v.shared.CreatePushedRequest(ctx, &in)
}

// PushedRequest returns a pushed request of the tenant without using it
// up; see oauthkit.PushedRequestStore.
func (v *View) PushedRequest(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.PushedRequest, error) {
	if id == "" || clientID == "" {
		return nil, fmt.Errorf("pushed request: %w", oauthkit.ErrNotFound)
	}
	return v.outPushed(v.shared.PushedRequest(ctx, v.key(id), v.key(clientID), now))
}

// ConsumePushedRequest uses up a pushed request of the tenant; see
// oauthkit.PushedRequestStore.
func (v *View) ConsumePushedRequest(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.PushedRequest, error) {
	if id == "" || clientID == "" {
		return nil, fmt.Errorf("pushed request: %w", oauthkit.ErrNotFound)
	}
	return v.outPushed(v.shared.ConsumePushedRequest(ctx, v.key(id), v.key(clientID), now))
}
