package publicnet

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"93.184.215.14", true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true},
		{"1.1.1.1", true},
		{"127.0.0.1", false},
		{"127.255.0.1", false},
		{"::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"0.1.2.3", false},
		{"10.0.0.1", false},
		{"172.16.5.4", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"100.64.0.1", false},
		{"192.0.0.170", false},
		{"198.18.0.1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"ff02::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:93.184.215.14", true},
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"64:ff9b::5db8:d70e", true},
		{"2002:7f00:1::", false}, // 6to4 of 127.0.0.1
		{"2001:db8::1", false},
	}
	for _, tt := range tests {
		if got := Public(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Public(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
}

func TestNewClientRefusesLoopback(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	_, err := NewClient(Config{Timeout: time.Second}).Get(ts.URL)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("GET %s: %v, want ErrForbiddenAddress", ts.URL, err)
	}
	resp, err := NewClient(Config{Timeout: time.Second, InsecureAllowPrivateAddresses: true}).Get(ts.URL)
	if err != nil {
		t.Fatalf("GET with InsecureAllowPrivateAddresses: %v", err)
	}
	resp.Body.Close()
}

func TestNewClientFollowsNoRedirect(t *testing.T) {
	ts := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/latest/meta-data", http.StatusFound))
	defer ts.Close()
	resp, err := NewClient(Config{Timeout: time.Second, InsecureAllowPrivateAddresses: true}).Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status %d, want the 302 itself", resp.StatusCode)
	}
}
