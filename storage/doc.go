// Package storage holds the store implementations that ship with oauthkit,
// one package each: [github.com/oauthkit/oauthkit/storage/memory] for tests
// and single-process servers, and [github.com/oauthkit/oauthkit/storage/postgres]
// (a module of its own) for servers that share a database. Package
// [github.com/oauthkit/oauthkit/storage/tenant] gives each tenant of a
// multi-tenant host its view of one shared store. Package
// [github.com/oauthkit/oauthkit/storage/storetest] checks any implementation
// of the store interfaces against their contracts.
package storage
