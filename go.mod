module github.com/oauthkit/oauthkit

go 1.26.0

require (
	github.com/coreos/go-oidc/v3 v3.21.0
	github.com/go-jose/go-jose/v4 v4.1.8
	github.com/google/go-cmp v0.7.0
	golang.org/x/crypto v0.58.0
	golang.org/x/oauth2 v0.37.0
)

require golang.org/x/sys v0.49.0 // indirect
