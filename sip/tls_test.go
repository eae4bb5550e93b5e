package sip_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/sip"
)

func TestTLS(t *testing.T) {
	certFile, keyFile, roots := selfSigned(t)
	srv := startServer(t, &switchTelephony{},
		[]sip.Listener{{Transport: "tls", Address: "127.0.0.1:0"}},
		sip.WithTLS(certFile, keyFile))

	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(quiet)),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}

	addr := srv.Addr("tls")
	if res := do(t, c, newRequest(t, gosip.OPTIONS, "tls", addr, "ping")); res.StatusCode != 200 {
		t.Errorf("OPTIONS over TLS: %d", res.StatusCode)
	}
	if res := do(t, c, newInvite(t, "tls", addr)); res.StatusCode != 480 {
		t.Errorf("INVITE over TLS: %d", res.StatusCode)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// them with a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "teamline test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// TestPhoneOverTLS: a phone registers over TLS and is called back on the
// same connection.
func TestPhoneOverTLS(t *testing.T) {
	certFile, keyFile, roots := selfSigned(t)
	gw := startGatewayOn(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource}}
	}, []sip.Listener{
		{Transport: "udp", Address: "127.0.0.1:0"},
		{Transport: "tls", Address: "127.0.0.1:0"},
	}, sip.WithTLS(certFile, keyFile))
	alice := newPhone(t, "127.0.0.1", sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	if res := alice.registerOver(gw, "tls", "alice", "alice-pw-1", 300); res.StatusCode != 200 {
		t.Fatalf("REGISTER over TLS: %d", res.StatusCode)
	}
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call to a TLS phone: %v\n%s", err, gw.logs)
	}
	if alice.invites.Load() != 1 {
		t.Errorf("alice's phone got %d INVITEs", alice.invites.Load())
	}
	hangup(t, sess)
	eventually(t, "BYE over TLS", func() bool { return alice.byes.Load() == 1 })
}
