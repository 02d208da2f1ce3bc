package storetest

import (
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// TestClientStore tests an [oauthkit.ClientStore] implementation. newStore
// must return a store holding the given clients, and no others with their
// IDs. TestClientStore checks that each client comes back with every field
// intact, that any other ID (including one differing only in case, a prefix,
// or a LIKE pattern) is an error wrapping [oauthkit.ErrNotFound], and that
// concurrent lookups are safe.
func TestClientStore(t *testing.T, newStore func(t *testing.T, clients ...*oauthkit.Client) oauthkit.ClientStore) {
	t.Run("Lookup", func(t *testing.T) {
		e := newEnv(t)
		clients := testClients(e.tag)
		s := newStore(t, testClients(e.tag)...)
		for _, want := range clients {
			t.Run(want.ID[len(e.tag)+1:], func(t *testing.T) {
				got, err := s.Client(e.ctx, want.ID)
				if wantOK(t, "Client", err) {
					wantEqual(t, "Client", got, want)
				}
			})
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		e := newEnv(t)
		web := testClients(e.tag)[0]
		cases := append(lookalikes(web.ID), struct{ name, id string }{"Unknown", e.tag + "-unknown"})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t, testClients(e.tag)...)
				got, err := s.Client(e.ctx, tc.id)
				if wantErr(t, "Client("+format(tc.id)+")", err, oauthkit.ErrNotFound) && got != nil {
					t.Errorf("Client(%q) returned client %q with its ErrNotFound", tc.id, got.ID)
				}
			})
		}
	})

	t.Run("Empty", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		_, err := s.Client(e.ctx, e.tag+"-web")
		wantErr(t, "Client on a store with no clients", err, oauthkit.ErrNotFound)
	})

	t.Run("Concurrent", func(t *testing.T) {
		e := newEnv(t)
		clients := testClients(e.tag)
		s := newStore(t, testClients(e.tag)...)
		got := make([]*oauthkit.Client, goroutines)
		errs := race(goroutines, func(i int) error {
			var err error
			got[i], err = s.Client(e.ctx, clients[i%len(clients)].ID)
			return err
		})
		for i, err := range errs {
			if wantOK(t, "concurrent Client", err) {
				wantEqual(t, "concurrent Client", got[i], clients[i%len(clients)])
			}
		}
	})
}

// testClients returns clients of each kind, every field of the first one
// set. The ID of each is tag, a hyphen and a name.
func testClients(tag string) []*oauthkit.Client {
	return []*oauthkit.Client{
		{
			ID:           tag + "-web",
			Name:         "Web App — Ünïcode",
			SecretHash:   "$sha256$" + oauthkit.HashToken("web secret of the storetest kit, not a real one"),
			AuthMethod:   oauthkit.AuthMethodSecretPost,
			RedirectURIs: []string{"https://app.example.com/callback", "https://app.example.com/cb?x=1&y=ü"},
			GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
			Scopes:       []string{"openid", "read", "write"},
			DefaultScopes: []string{
				"read",
			},
			Audience:                           []string{"https://api.example.com", "https://files.example.com"},
			Resources:                          []string{"https://api.example.com/", "https://files.example.com/ü?x=1"},
			DPoPBoundAccessTokens:              true,
			RequirePushedAuthorizationRequests: true,
			AccessTokenFormat:                  "jwt",
			JWKS:                               []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1"}]}`),
			Registration: &oauthkit.ClientRegistration{
				AccessTokenHash: oauthkit.HashToken("registration access token of the storetest kit"),
				IssuedAt:        time.Unix(1767225600, 0),
				SecretExpiresAt: time.Unix(1798761600, 0),
				ResponseTypes:   []string{"code"},
				ClientURI:       "https://app.example.com/",
				LogoURI:         "https://app.example.com/logo.png?ü",
				TOSURI:          "https://app.example.com/tos",
				PolicyURI:       "https://app.example.com/policy",
				Contacts:        []string{"ops@app.example.com", "Ünïcode <u@app.example.com>"},
				SoftwareID:      "4NRB1-0XZABZI9E6-5SM3R",
				SoftwareVersion: "2.1 — ü",
			},
		},
		{
			ID:           tag + "-public",
			JWKSURI:      "https://app.example.com/jwks.json?v=ü",
			AuthMethod:   oauthkit.AuthMethodNone,
			RedirectURIs: []string{"http://127.0.0.1/callback", "com.example.app:/callback"},
			GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode},
			Scopes:       []string{"read"},
		},
		{
			// client_secret_jwt: the secret itself, sealed (any bytes).
			ID:                tag + "-mac",
			Name:              "MAC",
			AuthMethod:        oauthkit.AuthMethodClientSecretJWT,
			SealedSecret:      []byte{1, 0, 0xff, 0xfe, '\'', 0, 'x', 0x80},
			GrantTypes:        []string{oauthkit.GrantTypeClientCredentials},
			Scopes:            []string{"read"},
			DefaultScopes:     []string{"read"},
			Audience:          []string{"https://api.example.com"},
			AccessTokenFormat: "jwt",
		},
		{
			ID: tag + "-bare",
		},
	}
}
