package postgres

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
)

// TestOnlyHashesStored runs every kind of token request and then reads
// every row of every table as text: no client secret, code or token may
// appear, only their hashes.
func TestOnlyHashesStored(t *testing.T) {
	db := newTestDB(t)
	inst := newInstance(t, db.store(t), nil)
	if err := inst.store.CreateClient(t.Context(), testClient(t)); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"client secret": testSecret}
	code, verifier := authorize(t, inst)
	secrets["code"], secrets["code verifier"] = code, verifier
	issued := map[string]*http.Request{
		"code exchange":      tokenRequest(codeForm(code, verifier)),
		"client_credentials": tokenRequest(clientCredentialsForm),
	}
	for name, r := range issued {
		w := serveToken(inst, r)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
		tr := decodeToken(t, w)
		secrets[name+" access token"] = tr.AccessToken
		if tr.RefreshToken != "" {
			secrets[name+" refresh token"] = tr.RefreshToken
			w := serveToken(inst, tokenRequest(refreshForm(tr.RefreshToken)))
			if w.Code != http.StatusOK {
				t.Fatalf("refresh: %d %s", w.Code, w.Body)
			}
			tr := decodeToken(t, w)
			secrets["refreshed access token"], secrets["refreshed refresh token"] = tr.AccessToken, tr.RefreshToken
		}
	}
	conn := db.conn(t)
	for _, table := range []string{"oauthkit_clients", "oauthkit_codes", "oauthkit_tokens", "oauthkit_revoked_grants", "oauthkit_schema_migrations"} {
		rows, _ := conn.Query(t.Context(), "SELECT t::text FROM "+table+" t")
		dump, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(dump, "\n")
		for name, secret := range secrets {
			if secret == "" {
				t.Fatalf("no %s was issued", name)
			}
			if strings.Contains(all, secret) {
				t.Errorf("table %s holds the %s in clear", table, name)
			}
		}
		if table == "oauthkit_tokens" && !strings.Contains(all, oauthkit.HashToken(secrets["refreshed refresh token"])) {
			t.Errorf("table %s does not hold the hash of the latest refresh token; is the dump empty?", table)
		}
	}
}
