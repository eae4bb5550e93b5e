package sip

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/sip/intake"
)

// methodHandler decides the final answer to one request: nil is 200 OK, an
// error is a decision from respond.go that statusFor turns into a status. It
// must return within ctx's deadline.
type methodHandler func(ctx context.Context, req *gosip.Request) error

// handlerTimeout bounds a handler: 64*T1 is how long the peer's non-INVITE
// client transaction waits for a final response (RFC 3261 17.1.2.2 Timer F,
// and Timer B for an INVITE without a provisional response). Past it, the
// peer has given up.
var handlerTimeout = 64 * gosip.T1

// telephonyTimeout bounds the Telephony check: a slow database must not turn
// into a call that rings nowhere.
const telephonyTimeout = 2 * time.Second

// methodTable lists the methods this server handles; any other gets 405.
// Keep allowedMethods in step.
func (s *Server) methodTable() map[gosip.RequestMethod]methodHandler {
	return map[gosip.RequestMethod]methodHandler{
		gosip.INVITE:   s.invite,
		gosip.OPTIONS:  optionsPing,
		gosip.REGISTER: s.register,
		gosip.BYE:      noDialog,
		gosip.CANCEL:   noDialog,
		gosip.INFO:     noDialog,
		gosip.MESSAGE:  s.message,
	}
}

// serveRequest is the sipgo handler of every request but ACK. sipgo calls it
// in its own goroutine, and it must not return before the final response is
// sent: sipgo ends the transaction when it returns.
func (s *Server) serveRequest(req *gosip.Request, tx gosip.ServerTransaction) {
	log := s.requestLog(req)
	ctx, ok := s.flight.enter()
	if !ok {
		s.respond(context.Background(), log, req, tx, errShuttingDown)
		return
	}
	defer s.flight.leave()
	// Every request, whichever path serves it below, gets these: a panic
	// answers 500 (if nothing was answered yet) instead of taking the
	// gateway and every call down, and an option tag we do not support
	// in Require gets 420 (RFC 3261 8.2.2.3: e.g. an INVITE requiring
	// 100rel must not be answered with unreliable provisional responses).
	defer func() {
		if r := recover(); r != nil {
			log.Error("sip handler panicked", "panic", r, "stack", string(debug.Stack()))
			s.respond(context.Background(), log, req, tx, errInternal)
		}
	}()
	// RFC 3261 8.2: the method is inspected before the headers, so a
	// method we do not implement gets 405 from its handler below.
	if _, known := s.methods[req.Method]; known {
		if err := checkRequire(req); err != nil {
			s.respond(ctx, log, req, tx, err)
			return
		}
	}
	if s.opts.backend != nil {
		if inDialog(req) && req.Method != gosip.CANCEL {
			if s.serveInDialog(log, req, tx) {
				return
			}
		} else if req.Method == gosip.INVITE {
			s.serveInvite(ctx, log, req, tx)
			return
		}
	}
	ctx, cancel := context.WithTimeout(ctx, handlerTimeout)
	defer cancel()
	s.respond(ctx, log, req, tx, s.decide(ctx, req))
}

// decide answers a request no call or dialog takes: the method's handler,
// or 405 for a method we do not implement (RFC 3261 8.2.1).
func (s *Server) decide(ctx context.Context, req *gosip.Request) error {
	h, ok := s.methods[req.Method]
	if !ok {
		return errMethodNotAllowed
	}
	return h(ctx, req)
}

// respond sends the final response for decision err, counts it and logs it.
// It returns the response sent, nil if none was.
func (s *Server) respond(ctx context.Context, log *slog.Logger, req *gosip.Request, tx gosip.ServerTransaction, err error) *gosip.Response {
	if r := (*reply)(nil); errors.As(err, &r) && r.drop {
		s.metrics.observe(req.Method, 0)
		log.Debug("sip request dropped", "decision", err.Error())
		return nil
	}
	res := s.response(req, err)
	// Counted before sending, so that whoever sees the response also sees
	// it counted.
	s.metrics.observe(req.Method, res.StatusCode)
	if werr := tx.Respond(res); werr != nil {
		log.Warn("sip response not sent", "status", res.StatusCode, "error", werr)
		return nil
	}

	// Calls are worth a line each; keepalives and scanners are not.
	level := slog.LevelDebug
	if req.Method == gosip.INVITE || req.Method == gosip.MESSAGE || req.Method == gosip.REGISTER {
		level = slog.LevelInfo
	}
	attrs := []any{"status", res.StatusCode, "reason", res.Reason}
	if err != nil {
		attrs = append(attrs, "decision", err.Error())
	}
	log.Log(ctx, level, "sip request answered", attrs...)
	return res
}

// serveAck handles an ACK that matches no transaction; ACK is never
// answered. Over UDP the ACK to one of our error responses never gets here:
// the INVITE server transaction absorbs it (RFC 3261 17.2.1). Over TCP and
// TLS sipgo v1.7 ends that transaction as soon as the final response is sent
// (no retransmissions to absorb), so the ACK arrives here and is dropped. An
// ACK to a 2xx belongs to a dialog (RFC 3261 13.3.1.4); there are none yet.
func (s *Server) serveAck(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.observe(req.Method, 0)
	if s.opts.backend != nil && s.ack(req, tx) {
		return
	}
	s.requestLog(req).Debug("sip ACK outside any transaction dropped")
}

// invite answers an INVITE that serveInvite does not take (a server built
// without a backend): telephony disabled -> 480 with the reason; enabled ->
// 404, as there is nothing to route with.
func (s *Server) invite(ctx context.Context, req *gosip.Request) error {
	if inDialog(req) {
		return errNoDialog // a re-INVITE: we hold no dialogs yet
	}
	tctx, cancel := context.WithTimeout(ctx, telephonyTimeout)
	defer cancel()
	if ok, reason := s.tel.Enabled(tctx); !ok {
		return &telephonyDisabledError{reason: reason}
	}
	return errNoRoute
}

// optionsPing answers keepalive pings from trunks and capability queries (RFC
// 3261 11.2) with 200; response adds Allow and Accept. It answers even when
// telephony is disabled: the gateway is up, it just refuses calls.
func optionsPing(context.Context, *gosip.Request) error { return nil }

// noDialog answers BYE and CANCEL: with no dialogs and no INVITE pending (a
// CANCEL that matches a pending INVITE is answered by sipgo's transaction
// layer), the request is for a call we do not know (RFC 3261 15.1.2, 9.2).
func noDialog(context.Context, *gosip.Request) error { return errNoDialog }

// message: texts are not routed yet. With telephony on, the sender is
// identified first like the caller of an INVITE (a trunk, or a user who
// answers the digest challenge), so a MESSAGE tells an outsider no more
// about the team's users than an INVITE does; the recipient is cleaned as
// a dialled user (404 for what is neither a number nor a name). Short
// numbers are no error here: SMS short codes are destinations of texts.
func (s *Server) message(ctx context.Context, req *gosip.Request) error {
	if inDialog(req) {
		return errNoDialog
	}
	if s.opts.backend == nil {
		return errNoRoute
	}
	actx, cancel := context.WithTimeout(ctx, telephonyTimeout)
	_, err := s.identify(actx, req)
	cancel()
	if err != nil {
		return err
	}
	if _, err := dialledOf(req.Recipient); err != nil {
		return err
	}
	return errNoRoute
}

// inDialog reports whether req claims to be inside a dialog: a To tag (RFC
// 3261 12.2).
func inDialog(req *gosip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

// maxUnsupported bounds the Unsupported header we echo back.
const maxUnsupported = 8

// checkRequire implements RFC 3261 8.2.2.3: a UAS that does not understand an
// option tag in Require MUST answer 420 listing it in Unsupported. We support
// none yet (100rel, timer, replaces come with the B2BUA). ACK and CANCEL are
// never rejected for it; ACK does not come through here.
func checkRequire(req *gosip.Request) error {
	if req.Method == gosip.CANCEL {
		return nil
	}
	var tags []string
	for _, h := range req.GetHeaders("Require") {
		for tag := range strings.SplitSeq(h.Value(), ",") {
			tag = strings.TrimSpace(tag)
			if len(tags) < maxUnsupported && len(tag) <= 64 && intake.IsToken(tag) {
				tags = append(tags, tag)
			}
		}
	}
	if len(tags) == 0 {
		return nil
	}
	return &badExtensionError{tags: tags}
}

// requestLog returns the logger for one request's lines: every call-path line
// carries call_id and the leg. Only short header values are logged, never a
// body or an auth header.
func (s *Server) requestLog(req *gosip.Request) *slog.Logger {
	from := ""
	if f := req.From(); f != nil {
		from = f.Address.User
	}
	return s.log.With(
		"call_id", callID(req),
		"leg", "inbound",
		"method", truncate(string(req.Method), 16),
		"transport", req.Transport(),
		"source", req.Source(),
		"from_user", truncate(from, 64),
		"to_user", truncate(req.Recipient.User, 64),
	)
}

// callID returns a message's Call-ID, shortened for logs.
func callID(m interface{ CallID() *gosip.CallIDHeader }) string {
	h := m.CallID()
	if h == nil {
		return ""
	}
	return truncate(h.Value(), 128)
}
