// Package publicnet makes HTTP clients that reach only the public
// Internet: every address they dial is checked after DNS resolution, in the
// dialer's Control hook, so that a name resolving to a private address, a
// second resolution that does (DNS rebinding), and a redirect to one are all
// refused. It is the defence against server-side request forgery (SSRF) for
// the documents the server fetches at URLs its clients choose, such as
// client ID metadata documents.
package publicnet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is the error of a dial to an address that is not
// public.
var ErrForbiddenAddress = errors.New("publicnet: address is not public")

// special are the ranges, besides those netip.Addr's methods name, that
// are not public unicast addresses (RFC 6890 and its updates).
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use IPv4/IPv6 translation
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Public reports whether ip is a public unicast address. IPv4 addresses
// embedded in IPv6 ones (mapped, NAT64's 64:ff9b::/96, 6to4's 2002::/16)
// are judged as IPv4.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return Public(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return Public(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(),
		ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(), ip.Zone() != "":
		return false
	}
	for _, p := range special {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// control refuses a connection to an address that is not public.
func control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if !Public(ip) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ip)
	}
	return nil
}

// Config configures NewClient.
type Config struct {
	// Timeout bounds a whole request, the body read included. Required.
	Timeout time.Duration
	// TLS configures TLS; nil means the system's roots.
	TLS *tls.Config
	// InsecureAllowPrivateAddresses lets the client dial any address, for
	// tests against a local server.
	InsecureAllowPrivateAddresses bool
}

// NewClient returns an HTTP client that dials only public addresses
// (unless cfg says otherwise), never uses a proxy (which would dial for
// it), never follows redirects (a 3xx is returned as it is), and gives up
// after cfg.Timeout.
func NewClient(cfg Config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	if !cfg.InsecureAllowPrivateAddresses {
		dialer.Control = control
	}
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:        cfg.TLS,
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
