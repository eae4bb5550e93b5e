package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/teamline/teamline/directory"
)

// Digest authentication of phones and trunks (RFC 3261 22.4, with the
// algorithms of RFC 8760: SHA-256 and MD5, qop=auth).
//
// Nonces are stateless: a nonce is the time it was issued and an HMAC of
// that time under a key that lives as long as the process. Any gateway
// process can check its own nonces without a table, a nonce older than the
// lifetime is answered with a fresh challenge carrying stale=true (the phone
// retries without asking its user), and a forged nonce is a failure. Nonce
// counts are not tracked, so a captured Authorization can be replayed within
// the nonce lifetime: keep it short, and use TLS where the network is not
// trusted.

// nonces issues and checks nonces.
type nonces struct {
	key        [32]byte
	lifetime   time.Duration
	now        func() time.Time
	algorithms []string // offered in challenges, in order
}

func newNonces(lifetime time.Duration, algorithms []string, now func() time.Time) *nonces {
	n := &nonces{lifetime: lifetime, algorithms: algorithms, now: now}
	_, _ = rand.Read(n.key[:])
	return n
}

const nonceMACSize = 16

// issue returns a new nonce: base64url(unix nanoseconds || MAC).
func (n *nonces) issue() string {
	var b [8 + nonceMACSize]byte
	binary.BigEndian.PutUint64(b[:8], uint64(n.now().UnixNano()))
	copy(b[8:], n.mac(b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// check reports whether nonce is one of ours (valid) and whether it is past
// its lifetime (stale).
func (n *nonces) check(nonce string) (valid, stale bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 8+nonceMACSize {
		return false, false
	}
	if !hmac.Equal(b[8:], n.mac(b[:8])) {
		return false, false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	age := n.now().Sub(issued)
	return true, age > n.lifetime || age < -time.Minute
}

func (n *nonces) mac(ts []byte) []byte {
	m := hmac.New(sha256.New, n.key[:])
	m.Write(ts)
	return m.Sum(nil)[:nonceMACSize]
}

// authResult is the outcome of checking a request's credentials.
type authResult int

const (
	authMissing authResult = iota // no credentials for our realm: challenge
	authStale                     // right password, old nonce: challenge with stale=true
	authOK
	authFailed // wrong password, forged nonce, unknown user
)

// authHeaderName is where credentials come in: Authorization for REGISTER
// (401 challenges), Proxy-Authorization for everything else (407).
func authHeaderName(m gosip.RequestMethod) (request, challenge string, code int) {
	if m == gosip.REGISTER {
		return "Authorization", "WWW-Authenticate", 401
	}
	return "Proxy-Authorization", "Proxy-Authenticate", 407
}

// digestCredentials returns the parsed credentials of req for realm, or nil.
func digestCredentials(req *gosip.Request, realm string) *digest.Credentials {
	name, _, _ := authHeaderName(req.Method)
	for _, h := range req.GetHeaders(name) {
		c, err := digest.ParseCredentials(h.Value())
		if err == nil && c.Realm == realm {
			return c
		}
	}
	return nil
}

// verify checks cred (already parsed from req) against the identity's
// HA1 values (the directory's for users, derived once at start for trunks).
func (n *nonces) verify(req *gosip.Request, cred *digest.Credentials, known directory.SIPCredential) authResult {
	valid, stale := n.check(cred.Nonce)
	if !valid {
		return authFailed
	}
	var ha1, stand string
	switch strings.ToUpper(cred.Algorithm) {
	case "", "MD5":
		ha1, stand = known.HA1MD5, nobody.HA1MD5
	case "SHA-256":
		ha1, stand = known.HA1SHA256, nobody.HA1SHA256
	default:
		return authFailed
	}
	if cred.QOP != "" && cred.QOP != "auth" {
		return authFailed
	}
	// No secret (an unknown user, or one without a SIP login): the digest
	// is computed all the same, against a secret nobody knows, so that the
	// time taken does not tell which names exist.
	missing := ha1 == ""
	if missing {
		ha1 = stand
	}
	want, err := digest.Digest(&digest.Challenge{
		Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque,
		QOP: qopList(cred.QOP),
	}, digest.Options{
		Method: string(req.Method), URI: cred.URI, Username: cred.Username, A1: ha1,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	if err != nil || subtle.ConstantTimeCompare([]byte(strings.ToLower(cred.Response)), []byte(want.Response)) != 1 || missing {
		return authFailed
	}
	if stale {
		return authStale
	}
	return authOK
}

// nobody is the stand-in secret of names without one: random, never
// stored or shown, so no answer can match it (and missing fails anyway).
var nobody = func() directory.SIPCredential {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return directory.HA1("nobody", "nowhere", base64.RawURLEncoding.EncodeToString(b[:]))
}()

func qopList(q string) []string {
	if q == "" {
		return nil
	}
	return []string{q}
}

// challenges returns the challenge header values, one per algorithm in the
// order configured (registrar.digest_algorithms). RFC 8760 2.4 has a UAC use
// the topmost challenge it supports; but many phones read only the first, and
// some (the libre of Debian 12's baresip) fail on the whole list if any
// algorithm is unknown to them. So the default is MD5 alone, as Asterisk,
// FreeSWITCH and Kamailio send; an operator who wants SHA-256 lists it first.
func (n *nonces) challenges(realm string, stale bool) []string {
	nonce := n.issue()
	out := make([]string, 0, len(n.algorithms))
	for _, alg := range n.algorithms {
		c := digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		out = append(out, c.String())
	}
	return out
}
