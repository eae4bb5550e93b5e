package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/directory"
)

// The registrar (RFC 3261 10.3): phones of users register their contacts
// with digest authentication. Bindings live in the database (Contacts), so
// every gateway process sharing it can reach every phone; each binding keeps
// the transport and source address the REGISTER came from, and calls to the
// phone go there rather than to the Contact URI, which behind NAT names a
// private address (RFC 3581's received/rport applied to the registration).

// Limits of a binding's text, as the store keeps them.
const (
	maxBindingText = 1024 // Contact URI
	maxInstance    = 255  // +sip.instance
)

// maxContactsPerRegister bounds one REGISTER's Contact list.
const maxContactsPerRegister = 16

// register handles REGISTER.
func (s *Server) register(ctx context.Context, req *gosip.Request) error {
	b := s.opts.backend
	if b == nil {
		return errRegistrarDisabled
	}
	user, err := s.authenticateUser(ctx, req)
	if err != nil {
		return err
	}
	to := req.To()
	if to == nil || !strings.EqualFold(to.Address.User, user.Username) {
		// RFC 3261 10.3 step 6: the authenticated user must be allowed
		// to change the bindings of this address of record: their own.
		return &reply{code: 403, reason: "Forbidden", why: "address of record is not the authenticated user"}
	}
	if err := s.updateBindings(ctx, req, user.Username); err != nil {
		return err
	}
	cs, err := b.Contacts.ListContacts(ctx, user.Username, b.Now())
	if err != nil {
		return s.storeError(err)
	}
	headers := []gosip.Header{gosip.NewHeader("Date", b.Now().UTC().Format(time.RFC1123))}
	for _, c := range cs {
		left := int(time.Until(c.Expires).Round(time.Second) / time.Second)
		if left < 0 {
			left = 0
		}
		headers = append(headers, gosip.NewHeader("Contact", "<"+c.URI+">;expires="+strconv.Itoa(left)))
	}
	return &reply{code: 200, reason: "OK", headers: headers}
}

// registrationCount counts the unexpired bindings for the registrations
// gauge (0 without a backend or when the database does not answer).
func (s *Server) registrationCount() float64 {
	b := s.opts.backend
	if b == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := b.Contacts.CountContacts(ctx, b.Now())
	if err != nil {
		return 0
	}
	return float64(n)
}

// updateBindings applies the Contact headers of req to username's
// bindings (RFC 3261 10.3 steps 6-8).
func (s *Server) updateBindings(ctx context.Context, req *gosip.Request, username string) error {
	b := s.opts.backend
	contacts := req.GetHeaders("Contact")
	if len(contacts) == 0 {
		return nil // a query: the response lists the bindings
	}
	defExpires := b.Registrar.DefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		d, err := parseExpires(h.Value())
		if err != nil {
			return &reply{code: 400, reason: "Bad Expires"}
		}
		defExpires = d
	}
	// Contact: * removes every binding, and only with Expires: 0 (10.3 step 6).
	if len(contacts) == 1 && isWildcard(contacts[0]) {
		if defExpires != 0 {
			return &reply{code: 400, reason: "Wildcard Contact Needs Expires 0"}
		}
		if _, err := b.Contacts.DeleteContacts(ctx, username); err != nil {
			return s.storeError(err)
		}
		return nil
	}
	parsed := make([]*gosip.ContactHeader, 0, len(contacts))
	for _, h := range contacts {
		c, ok := h.(*gosip.ContactHeader)
		if !ok {
			return &reply{code: 400, reason: "Bad Contact"}
		}
		parsed = append(parsed, c)
	}
	if len(parsed) > maxContactsPerRegister {
		return &reply{code: 403, reason: "Too Many Contacts"}
	}
	now := b.Now()
	for _, c := range parsed {
		if isWildcard(c) {
			return &reply{code: 400, reason: "Wildcard Contact Mixed With Others"}
		}
		expires := defExpires
		if v, ok := c.Params.Get("expires"); ok {
			d, err := parseExpires(v)
			if err != nil {
				return &reply{code: 400, reason: "Bad Contact Expires"}
			}
			expires = d
		}
		uri := c.Address.String()
		instance, _ := c.Params.Get("+sip.instance")
		if len(uri) > maxBindingText || len(instance) > maxInstance {
			// The store's limits, answered as the phone's mistake.
			return &reply{code: 400, reason: "Contact Too Long"}
		}
		if expires == 0 {
			if err := b.Contacts.DeleteContact(ctx, username, uri); err != nil {
				return s.storeError(err)
			}
			continue
		}
		if expires < b.Registrar.MinExpires {
			// RFC 3261 10.3 step 7: 423 with Min-Expires.
			return &reply{code: 423, reason: "Interval Too Brief", headers: []gosip.Header{
				gosip.NewHeader("Min-Expires", strconv.Itoa(int(b.Registrar.MinExpires/time.Second))),
			}}
		}
		expires = min(expires, b.Registrar.MaxExpires)
		ua := ""
		if h := req.GetHeader("User-Agent"); h != nil {
			ua = h.Value()
		}
		var cseq uint32
		if h := req.CSeq(); h != nil {
			cseq = h.SeqNo
		}
		binding := &directory.Contact{
			Username:  username,
			URI:       uri,
			Source:    strings.ToLower(req.Transport()) + ":" + req.Source(),
			Instance:  strings.Trim(instance, `"<>`),
			CallID:    callID(req),
			CSeq:      cseq,
			UserAgent: ua,
			Node:      b.Node,
			Expires:   now.Add(expires),
		}
		if err := b.Contacts.PutContact(ctx, binding); err != nil {
			return s.storeError(err)
		}
	}
	return nil
}

// storeError turns a database failure into 500 or 503 for the phone, and
// logs it for the operator.
func (s *Server) storeError(err error) error {
	if errors.Is(err, directory.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("sip request refused: database busy", "error", err)
		return &reply{code: 503, reason: "Service Unavailable", headers: []gosip.Header{gosip.NewHeader("Retry-After", "5")}}
	}
	s.log.Error("sip request failed: database", "error", err)
	return &reply{code: 500, reason: "Server Internal Error", why: fmt.Sprint(err)}
}

// sourceAddr is the IP a request came from.
func sourceAddr(req *gosip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// keepalives pings this node's UDP contacts every interval with OPTIONS,
// so that the NAT bindings in front of them stay open (RFC 5626 3.5.1
// describes the need; OPTIONS is what phones without outbound support
// answer). Any answer means the phone is there; a binding whose phone
// misses keepaliveMisses pings in a row is removed, so calls stop ringing
// a phone that went away without un-registering.
func (s *Server) keepalives(ctx context.Context) {
	b := s.opts.backend
	if b == nil || b.Registrar.KeepaliveInterval <= 0 {
		return
	}
	t := time.NewTicker(b.Registrar.KeepaliveInterval)
	defer t.Stop()
	misses := map[string]int{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := b.Contacts.ExpireContacts(ctx, b.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("sip expired contacts not removed", "error", err)
		}
		cs, err := b.Contacts.ListNodeContacts(ctx, b.Node, b.Now())
		if err != nil {
			continue
		}
		misses = s.pingAll(ctx, cs, misses, min(b.Registrar.KeepaliveInterval, 2*time.Second))
	}
}

// Keepalive limits: pings in flight at once, and missed pings in a row
// that remove a binding.
const (
	keepaliveConcurrency = 64
	keepaliveMisses      = 3
)

// pingAll pings every UDP contact of cs and returns the updated count of
// missed pings per binding (bindings gone from cs are forgotten).
func (s *Server) pingAll(ctx context.Context, cs []directory.Contact, misses map[string]int, timeout time.Duration) map[string]int {
	next := make(map[string]int, len(misses))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, keepaliveConcurrency)
	for _, c := range cs {
		if !strings.HasPrefix(c.Source, "udp:") {
			continue
		}
		key := c.Username + "\x00" + c.URI
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			alive := s.ping(ctx, c, timeout)
			if ctx.Err() != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if alive {
				return
			}
			next[key] = misses[key] + 1
			if next[key] < keepaliveMisses {
				return
			}
			delete(next, key)
			if err := s.opts.backend.Contacts.DeleteContact(ctx, c.Username, c.URI); err != nil {
				s.log.Warn("sip unreachable contact not removed", "user", c.Username, "error", err)
				return
			}
			s.log.Info("sip contact removed: no answer to keepalives", "user", c.Username,
				"contact", truncate(c.URI, 128), "misses", keepaliveMisses)
		})
	}
	wg.Wait()
	return next
}

// ping sends one OPTIONS to a contact and reports whether anything came
// back within timeout: any status means the phone is there.
func (s *Server) ping(ctx context.Context, c directory.Contact, timeout time.Duration) bool {
	cl := s.client("udp")
	if cl == nil {
		return true
	}
	var uri gosip.Uri
	if err := gosip.ParseUri(c.URI, &uri); err != nil {
		return true
	}
	req := gosip.NewRequest(gosip.OPTIONS, uri)
	req.SetDestination(strings.TrimPrefix(c.Source, "udp:"))
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tx, err := cl.TransactionRequest(pctx, req)
	if err != nil {
		s.log.Debug("sip keepalive not sent", "contact", truncate(c.URI, 128), "error", err)
		return true
	}
	defer tx.Terminate()
	select {
	case <-tx.Responses():
		return true
	case <-tx.Done():
		return false
	case <-pctx.Done():
		return false
	}
}

// isWildcard reports whether a Contact header is "*" (RFC 3261 10.2.2).
func isWildcard(h gosip.Header) bool {
	if c, ok := h.(*gosip.ContactHeader); ok && c.Address.Wildcard {
		return true
	}
	return strings.TrimSpace(h.Value()) == "*"
}

// parseExpires reads an Expires value or expires parameter: delta-seconds
// (RFC 3261 20.19, 25.1), at most 2^32-1; anything else is an error.
func parseExpires(v string) (time.Duration, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, err
	}
	return time.Duration(n) * time.Second, nil
}
