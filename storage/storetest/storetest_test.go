package storetest_test

import (
	"testing"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

func TestMemoryStores(t *testing.T) {
	t.Run("Clients", func(t *testing.T) {
		storetest.TestClientStore(t, func(t *testing.T, clients ...*oauthkit.Client) oauthkit.ClientStore {
			return memory.NewClients(clients...)
		})
	})
	t.Run("Codes", func(t *testing.T) {
		storetest.TestCodeStore(t, func(t *testing.T) oauthkit.CodeStore { return memory.NewCodes() })
	})
	t.Run("Tokens", func(t *testing.T) {
		storetest.TestTokenStore(t, func(t *testing.T) oauthkit.TokenStore { return memory.NewTokens() })
	})
	t.Run("ReplayCache", func(t *testing.T) {
		storetest.TestReplayCache(t, func(t *testing.T) oauthkit.ReplayCache { return memory.NewReplayCache() })
	})
	t.Run("Devices", func(t *testing.T) {
		storetest.TestDeviceStore(t, func(t *testing.T) oauthkit.DeviceStore { return memory.NewDevices() })
	})
}
