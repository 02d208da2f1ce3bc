package postgres

import (
	"errors"
	"io/fs"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/oauthkit/oauthkit"
)

func TestLoadMigrations(t *testing.T) {
	file := func(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }
	cases := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int // versions; nil with wantErr
		wantErr bool
	}{
		{"None", fstest.MapFS{}, nil, false},
		{"InOrder", fstest.MapFS{"0002_b.sql": file("B"), "0001_a.sql": file("A"), "README": file("")}, []int{1, 2}, false},
		{"Gap", fstest.MapFS{"0001_a.sql": file("A"), "0003_c.sql": file("C")}, nil, true},
		{"Duplicate", fstest.MapFS{"0001_a.sql": file("A"), "0001_b.sql": file("B")}, nil, true},
		{"StartsAtTwo", fstest.MapFS{"0002_b.sql": file("B")}, nil, true},
		{"NoNumber", fstest.MapFS{"init.sql": file("A")}, nil, true},
		{"ShortNumber", fstest.MapFS{"001_a.sql": file("A")}, nil, true},
		{"NoDescription", fstest.MapFS{"0001.sql": file("A")}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.fsys)
			if (err != nil) != tc.wantErr {
				t.Fatalf("loadMigrations: error = %v, want error %v", err, tc.wantErr)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("versions (-want +got):\n%s", d)
			}
		})
	}
}

// TestEmbeddedMigrations checks what Migrations exposes and that it loads.
func TestEmbeddedMigrations(t *testing.T) {
	names, err := fs.Glob(Migrations(), "*")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"0001_init.sql", "0002_revoked_grants.sql", "0003_client_subjects_retries_deadlines.sql", "0004_replay_cache.sql",
		"0005_extension_grants.sql", "0006_sender_constrained.sql", "0007_client_registration.sql", "0008_tenants.sql"}, names); d != "" {
		t.Errorf("Migrations() files (-want +got):\n%s", d)
	}
	if _, err := loadMigrations(Migrations()); err != nil {
		t.Errorf("embedded migrations: %v", err)
	}
}

// allMigrations are the records of every embedded migration, applied.
var allMigrations = []string{"1 0001_init", "2 0002_revoked_grants", "3 0003_client_subjects_retries_deadlines", "4 0004_replay_cache",
	"5 0005_extension_grants", "6 0006_sender_constrained", "7 0007_client_registration", "8 0008_tenants"}

// applied returns the versions and names recorded in the schema.
func applied(t *testing.T, db *testDB) []string {
	t.Helper()
	rows, _ := db.conn(t).Query(t.Context(), "SELECT version || ' ' || name FROM oauthkit_schema_migrations ORDER BY version")
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMigrate(t *testing.T) {
	t.Run("Idempotent", func(t *testing.T) {
		db := newTestDB(t) // migrated once
		s := db.store(t)
		for range 2 {
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
		}
		if d := cmp.Diff(allMigrations, applied(t, db)); d != "" {
			t.Errorf("recorded migrations (-want +got):\n%s", d)
		}
	})

	// Instances starting together all migrate; the advisory lock makes
	// them take turns, so that each migration runs once.
	t.Run("Concurrent", func(t *testing.T) {
		db := newEmptyDB(t)
		const n = 6
		stores := make([]*Store, n)
		for i := range stores {
			stores[i] = db.store(t)
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate #%d: %v", i, err)
			}
		}
		if d := cmp.Diff(allMigrations, applied(t, db)); d != "" {
			t.Errorf("recorded migrations (-want +got):\n%s", d)
		}
		if _, err := stores[0].Client(t.Context(), "x"); !errors.Is(err, oauthkit.ErrNotFound) {
			t.Errorf("Client after Migrate: error = %v, want ErrNotFound from a working table", err)
		}
	})

	// A newer release's migration recorded in the database is left alone.
	t.Run("NewerVersionRecorded", func(t *testing.T) {
		db := newTestDB(t)
		db.exec(t, "INSERT INTO "+db.schema+".oauthkit_schema_migrations (version, name) VALUES (99, '0099_future')")
		if err := db.store(t).Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if d := cmp.Diff(append(allMigrations, "99 0099_future"), applied(t, db)); d != "" {
			t.Errorf("recorded migrations (-want +got):\n%s", d)
		}
	})

	// A failing migration changes nothing: the whole run is one
	// transaction.
	t.Run("FailureRollsBack", func(t *testing.T) {
		db := newEmptyDB(t)
		init, err := fs.ReadFile(Migrations(), "0001_init.sql")
		if err != nil {
			t.Fatal(err)
		}
		fsys := fstest.MapFS{
			"0001_init.sql":   {Data: init},
			"0002_broken.sql": {Data: []byte("CREATE TABLE oauthkit_extra (id int); SELECT 1/0;")},
		}
		err = db.store(t).migrate(t.Context(), fsys)
		if err == nil {
			t.Fatal("migrate with a failing migration succeeded")
		}
		if errors.Is(err, oauthkit.ErrUnavailable) {
			t.Errorf("migrate error %v wraps ErrUnavailable, want an internal fault", err)
		}
		var n int
		if err := db.conn(t).QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = $1", db.schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d tables in the schema after a failed migration, want 0", n)
		}
	})

	// A database at version 2 with tokens in it is brought to version 3:
	// its tokens are users' (SubjectIsClient false), never retried, and
	// rotate as before.
	t.Run("UpgradeFromVersion2", func(t *testing.T) {
		db := newEmptyDB(t)
		s := db.store(t)
		v2 := fstest.MapFS{}
		for _, name := range []string{"0001_init.sql", "0002_revoked_grants.sql"} {
			sql, err := fs.ReadFile(Migrations(), name)
			if err != nil {
				t.Fatal(err)
			}
			v2[name] = &fstest.MapFile{Data: sql}
		}
		if err := s.migrate(t.Context(), v2); err != nil {
			t.Fatal(err)
		}
		db.exec(t, `INSERT INTO `+db.schema+`.oauthkit_tokens (id, kind, grant_id, client_id, subject, expires_at, acr)
			VALUES ('old', 'refresh_token', 'g', 'app', 'alice', now() + interval '1 hour', '')`)
		db.exec(t, `INSERT INTO `+db.schema+`.oauthkit_clients (id) VALUES ('app')`)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate from version 2: %v", err)
		}
		if d := cmp.Diff(allMigrations, applied(t, db)); d != "" {
			t.Errorf("recorded migrations (-want +got):\n%s", d)
		}
		if c, err := s.Client(t.Context(), "app"); err != nil || c.Name != "" {
			t.Errorf("Client stored at version 2: %+v, %v; want it, with no name", c, err)
		}
		now := time.Now()
		tok, err := s.Token(t.Context(), "old", now)
		if err != nil || tok.SubjectIsClient || tok.Subject != "alice" {
			t.Fatalf("Token stored at version 2: %+v, %v; want alice's, SubjectIsClient false", tok, err)
		}
		next := &oauthkit.Token{ID: "new", Kind: oauthkit.RefreshToken, GrantID: "g", ParentID: "old", ExpiresAt: now.Add(time.Hour)}
		if err := s.RotateRefreshToken(t.Context(), "old", now, time.Minute, next); err != nil {
			t.Errorf("RotateRefreshToken of a token stored at version 2: %v", err)
		}
	})

	// A database at version 4 with a client, a code and a token in it is
	// brought to version 6: they have no resources, actor or key binding,
	// and the device table works.
	t.Run("UpgradeFromVersion4", func(t *testing.T) {
		db := newEmptyDB(t)
		s := db.store(t)
		v4 := fstest.MapFS{}
		for _, name := range allMigrations[:4] {
			name = name[2:] + ".sql"
			sql, err := fs.ReadFile(Migrations(), name)
			if err != nil {
				t.Fatal(err)
			}
			v4[name] = &fstest.MapFile{Data: sql}
		}
		if err := s.migrate(t.Context(), v4); err != nil {
			t.Fatal(err)
		}
		db.exec(t, `INSERT INTO `+db.schema+`.oauthkit_clients (id, audience) VALUES ('app', '{https://api.example}')`)
		db.exec(t, `INSERT INTO `+db.schema+`.oauthkit_codes (id, grant_id, client_id, redirect_uri, redirect_uri_param,
			subject, acr, code_challenge, code_challenge_method, nonce, expires_at)
			VALUES ('c', 'g', 'app', 'https://app.example/cb', false, 'alice', '', '', '', '', now() + interval '1 minute')`)
		db.exec(t, `INSERT INTO `+db.schema+`.oauthkit_tokens (id, kind, grant_id, client_id, subject, expires_at, acr)
			VALUES ('t', 'access_token', 'g', 'app', 'alice', now() + interval '1 hour', '')`)
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate from version 4: %v", err)
		}
		if d := cmp.Diff(allMigrations, applied(t, db)); d != "" {
			t.Errorf("recorded migrations (-want +got):\n%s", d)
		}
		now := time.Now()
		c, err := s.Client(t.Context(), "app")
		if err != nil || c.Resources != nil || c.DPoPBoundAccessTokens || c.RequirePushedAuthorizationRequests {
			t.Errorf("Client stored at version 4: %+v, %v; want no resources, no DPoP or PAR requirement", c, err)
		}
		code, err := s.ConsumeCode(t.Context(), "c", "app", now)
		if err != nil || code.Resources != nil || code.DPoPJKT != "" || code.Subject != "alice" {
			t.Errorf("ConsumeCode of a code stored at version 4: %+v, %v; want alice's, with no resources or dpop_jkt", code, err)
		}
		tok, err := s.Token(t.Context(), "t", now)
		if err != nil || tok.Actor != nil || tok.JKT != "" || tok.Subject != "alice" {
			t.Errorf("Token stored at version 4: %+v, %v; want alice's, with no actor and no jkt", tok, err)
		}
		d := &oauthkit.DeviceAuthorization{ID: "d", UserCodeID: "u", ClientID: "app", ExpiresAt: now.Add(time.Minute)}
		if err := s.CreateDeviceAuthorization(t.Context(), d); err != nil {
			t.Errorf("CreateDeviceAuthorization after Migrate: %v", err)
		}
	})

	t.Run("NotMigrated", func(t *testing.T) {
		db := newEmptyDB(t)
		_, err := db.store(t).Client(t.Context(), "x")
		if err == nil || errors.Is(err, oauthkit.ErrNotFound) || errors.Is(err, oauthkit.ErrUnavailable) {
			t.Errorf("Client without Migrate: error = %v, want an internal fault", err)
		}
	})
}
