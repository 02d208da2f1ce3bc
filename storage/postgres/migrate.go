package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema migrations Migrate applies, as SQL files
// named NNNN_description.sql at the root of the returned file system, for a
// host that reviews them or applies them with its own tool. A host that does
// so must also record each applied version in oauthkit_schema_migrations, as
// Migrate does, or leave Migrate uncalled.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations in version order, checking
// that versions run 1, 2, 3… without gaps.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration // fs.Glob sorts names, and versions are zero-padded
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || v != len(ms)+1 {
			return nil, fmt.Errorf("postgres: migration %s: want name %04d_description.sql", name, len(ms)+1)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(path.Base(name), ".sql"), sql: string(body)})
	}
	return ms, nil
}

// migrateLockClass is the first key of the advisory lock that serializes
// migrations of one schema: "okm1" as an int4.
const migrateLockClass = "1869311281"

// Migrate brings the schema up to date: it creates the store's tables in the
// first schema of the connection's search_path, applying each embedded
// migration ([Migrations]) not yet recorded in the table
// oauthkit_schema_migrations, in one transaction. It is idempotent, and safe
// to call from several instances starting together: an advisory lock makes
// them take turns. A database with migrations this version does not know
// (applied by a newer release) is left as it is.
func (s *Store) Migrate(ctx context.Context) error { return s.migrate(ctx, Migrations()) }

// migrate applies the migrations of fsys.
func (s *Store) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+migrateLockClass+`, hashtext(coalesce(current_schema(), '')))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS oauthkit_schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT version FROM oauthkit_schema_migrations`)
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		done := make(map[int]bool, len(applied))
		for _, v := range applied {
			done[int(v)] = true
		}
		for _, m := range ms {
			if done[m.version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO oauthkit_schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("migrate", err)
}
