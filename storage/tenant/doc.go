// Package tenant serves many tenants (each an issuer of its own, with its
// own clients, users and keys) from one store: one process, one database.
// A tenant's [oauthkit.Server] is given its tenant's [View] of the shared
// [Store], never the store itself, so that nothing one tenant issued is
// valid at another, by construction:
//
//	shared, err := postgres.Open(ctx, url) // or memory.NewStore()
//	…
//	v, err := tenant.Scope(shared, "acme") // one view per tenant
//	if err != nil { … }                    // an ID outside [a-z0-9-]
//	srv, err := oauthkit.New(oauthkit.Config{
//		Issuer:       "https://id.example.com/acme",
//		Clients:      v,
//		Codes:        v, // the same value as Tokens: codes are redeemed in one transaction
//		Tokens:       v,
//		ReplayCache:  v,
//		Device:       &oauthkit.DeviceConfig{Store: v, …},
//		PAR:          &oauthkit.PARConfig{Store: v},
//		Registration: &oauthkit.RegistrationConfig{Store: v, …},
//		…
//	})
//
// The host registers a tenant's clients through its view
// (View.CreateClient), revokes a tenant's user with View.RevokeSubject,
// removes a tenant, once it no longer serves it, with View.DeleteAll, and
// sweeps expired records once for all tenants on the shared store
// (DeleteExpired of package memory or postgres). A view holds nothing but
// the store and the tenant's ID: making one per tenant, or per request,
// costs two small allocations.
//
// # How tenants are kept apart
//
// A view puts every key it hands to the shared store under its tenant's
// prefix, the tenant's ID and [Separator] ("acme/"): the IDs of clients,
// codes, tokens, grants, device authorizations (and their user codes) and
// pushed requests, the client ID and parent token ID every record refers
// to, and the replay keys. It strips the prefix from what the store returns,
// so its callers see the IDs they stored. Tenant IDs never hold the
// separator, so a prefixed key names its tenant unambiguously. Whatever ID
// a request presents to one tenant, the view looks it up under that
// tenant's prefix: another tenant's record is not found, and no code path
// compares tenant fields that a bug could skip. [oauthkit.SelfContainedTokenID]'s
// "jti:" space stays apart from opaque token IDs under the prefix too.
//
// Subjects are stored under the prefix as well, so that
// [View.RevokeSubject] revokes the grants of one tenant's user and not
// those of a user of the same name at another tenant.
//
// In PostgreSQL the prefix is the tenant key of every row: the first part
// of every key column and so of every index on one, and no tenant column
// is needed. A view adds no round trip.
package tenant
