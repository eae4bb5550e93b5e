package sip

import (
	"context"
	"errors"
	"net/netip"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/teamline/teamline/directory"
)

// Who sent a request. A request from a trunk's address is the trunk's;
// every other request must prove who sent it with digest credentials (RFC
// 3261 22), whatever it claims in From or To. The gate answers a peer the
// same way whether the user it names exists or not (as Asterisk's
// alwaysauthreject does), so that user names cannot be listed from outside:
//
//   - without credentials: a challenge, issued before anything is looked up
//     (no directory query, so the time taken tells nothing either);
//   - with credentials that fail: one answer for a wrong password, an unknown
//     user, a user without a SIP login and a forged nonce alike, after the
//     same work (a digest is computed against a throwaway secret when there
//     is no real one);
//   - from an address blocked by the guard: nothing.

// party is who sent a request: a trunk, or an authenticated user.
type party struct {
	trunk *Trunk
	user  *directory.User
}

// identify tells a trunk from a user for INVITE and MESSAGE: trunks by
// source address or by their own inbound credentials, users by digest. It
// returns the decision to send instead when the sender is neither.
func (s *Server) identify(ctx context.Context, req *gosip.Request) (party, error) {
	b := s.opts.backend
	src := sourceAddr(req)
	if t := b.trunkBySource(src); t != nil {
		return party{trunk: t}, nil
	}
	cred, err := s.credentials(req, src)
	if err != nil {
		return party{}, err
	}
	if t := b.trunkByInboundUser(cred.Username); t != nil {
		if err := s.verify(req, src, cred, t.inboundHA1, "trunk"); err != nil {
			return party{}, err
		}
		return party{trunk: t}, nil
	}
	u, err := s.checkUser(ctx, req, src, cred)
	if err != nil {
		return party{}, err
	}
	return party{user: &u}, nil
}

// authenticateUser checks the digest credentials of a REGISTER against the
// directory. It returns the user, or the decision to send instead: a
// challenge, 403, or nothing at all (a blocked address; with
// sip.unknown_source: drop, failed credentials from a non-trunk address).
func (s *Server) authenticateUser(ctx context.Context, req *gosip.Request) (directory.User, error) {
	src := sourceAddr(req)
	cred, err := s.credentials(req, src)
	if err != nil {
		return directory.User{}, err
	}
	return s.checkUser(ctx, req, src, cred)
}

// credentials returns the request's digest credentials for our realm, or
// the decision to send instead: nothing for a blocked address, else a
// challenge. Nothing is looked up first: every sender without credentials
// is challenged alike.
func (s *Server) credentials(req *gosip.Request, src netip.Addr) (*digest.Credentials, error) {
	if s.guard.blocked(src) {
		s.metrics.authFailures.WithLabelValues("blocked").Inc()
		return nil, errDrop
	}
	cred := digestCredentials(req, s.opts.realm)
	if cred == nil {
		return nil, s.challenge(req, false)
	}
	return cred, nil
}

// checkUser verifies cred against the directory's user of that name. A
// name that cannot be a username is not looked up; an unknown name, a user
// without a SIP login and a wrong password all end in authFailed after a
// digest computation (verify uses a throwaway secret when there is none).
func (s *Server) checkUser(ctx context.Context, req *gosip.Request, src netip.Addr, cred *digest.Credentials) (directory.User, error) {
	var user directory.User
	var known directory.SIPCredential
	if plausibleUsername(cred.Username) {
		u, err := s.opts.backend.Directory.GetUserByUsername(ctx, cred.Username)
		switch {
		case errors.Is(err, directory.ErrNotFound):
		case err != nil:
			return directory.User{}, s.storeError(err)
		case u.SIP != nil && u.SIP.Realm == s.opts.realm:
			user, known = u, *u.SIP
		}
	}
	if err := s.verify(req, src, cred, known, "user"); err != nil {
		return directory.User{}, err
	}
	return user, nil
}

// verify checks cred against the secret known of a kind of identity
// ("trunk" or "user"): nil when it holds (the address's failures are
// forgotten), else the answer: a fresh challenge for a stale nonce,
// authFailed's for the rest.
func (s *Server) verify(req *gosip.Request, src netip.Addr, cred *digest.Credentials, known directory.SIPCredential, kind string) error {
	switch s.nonces.verify(req, cred, known) {
	case authOK:
		s.guard.succeed(src)
		return nil
	case authStale:
		return s.challenge(req, true)
	}
	return s.authFailed(src, kind, cred.Username)
}

// authFailed counts a failed authentication, per address (the guard) and
// per account name, and decides the answer: 403, the same for every kind of
// failure, or nothing at all for a non-trunk address when the operator
// chose sip.unknown_source: drop.
func (s *Server) authFailed(src netip.Addr, kind, username string) error {
	b := s.opts.backend
	s.metrics.authFailures.WithLabelValues("bad_credentials").Inc()
	if s.guard.fail(src) {
		s.metrics.authBlocks.Inc()
		s.log.Warn("sip address blocked after repeated authentication failures",
			"source", src.String(), "for", b.Registrar.BlockDuration.String())
	}
	s.accountFailed(src, username)
	s.log.Info("sip authentication failed", "source", src.String(), "identity", kind, "username", truncate(username, 64))
	if b.Registrar.DropUnknown && b.trunkBySource(src) == nil {
		return errDrop
	}
	return errAuthFailed
}

// errAuthFailed is the one answer to failed credentials.
var errAuthFailed = &reply{code: 403, reason: "Forbidden", why: "authentication failed"}

// challenge is a 401 (REGISTER) or 407 (other requests) with our
// challenges (RFC 3261 22.1, 22.3).
func (s *Server) challenge(req *gosip.Request, stale bool) error {
	_, header, code := authHeaderName(req.Method)
	reason := "Unauthorized"
	if code == 407 {
		reason = "Proxy Authentication Required"
	}
	r := &reply{code: code, reason: reason}
	for _, v := range s.nonces.challenges(s.opts.realm, stale) {
		r.headers = append(r.headers, gosip.NewHeader(header, v))
	}
	return r
}
