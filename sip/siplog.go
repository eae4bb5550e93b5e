package sip

import (
	"context"
	"log/slog"
	"strings"
)

// sipgoLogHandler wraps our logger for sipgo's transport and transaction
// layers, which log what a gateway must not:
//
//   - input a peer got wrong is logged at Error: a message that does not
//     parse (with the whole datagram in "data"), a request too broken to
//     make a transaction. Garbage is routine on a SIP port (scanners,
//     truncated UDP) and a peer must not be able to flood the error log, so
//     these become Debug; the raw bytes are dropped and quoted fragments in
//     the error text are blanked, as they may hold a body or credentials.
//   - their Info lines are transaction housekeeping ("Non existing server tx
//     was removed"). They become Debug.
//
// Other Warn and Error lines pass through, minus any "data" attribute.
type sipgoLogHandler struct {
	inner slog.Handler
}

// peerErrorMsgs are the messages sipgo v1.7 logs at Error for what a peer
// sent: a datagram or stream that does not parse (sip/transport_udp.go,
// transport_tcp.go), a request without the headers a transaction needs, a
// stray response (sip/transaction_layer.go).
var peerErrorMsgs = map[string]bool{
	"failed to parse":                                    true,
	"Server tx failed to handle request":                 true,
	"Failed to send stateless 400 for malformed request": true,
	"Client tx failed to handle response":                true,
}

// maxErrText bounds an error text copied from a peer error.
const maxErrText = 160

func newSipgoLogger(log *slog.Logger) *slog.Logger {
	return slog.New(sipgoLogHandler{inner: log.Handler()}).With("component", "sipgo")
}

func (h sipgoLogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	// A record may be demoted to Debug in Handle; say yes if either level
	// would be written.
	return h.inner.Enabled(ctx, level) || h.inner.Enabled(ctx, slog.LevelDebug)
}

func (h sipgoLogHandler) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	peerError := peerErrorMsgs[r.Message]
	if peerError || level < slog.LevelWarn {
		level = slog.LevelDebug
	}
	if !h.inner.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		switch {
		case a.Key == "data":
			// Raw message bytes: never logged.
		case peerError && a.Key == "error":
			out.AddAttrs(slog.String("error", truncate(blankQuoted(a.Value.String()), maxErrText)))
		default:
			out.AddAttrs(a)
		}
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h sipgoLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a.Key != "data" {
			kept = append(kept, a)
		}
	}
	return sipgoLogHandler{inner: h.inner.WithAttrs(kept)}
}

func (h sipgoLogHandler) WithGroup(name string) slog.Handler {
	return sipgoLogHandler{inner: h.inner.WithGroup(name)}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// blankQuoted replaces every '...' or "..." span of s with '…': sipgo's parse
// errors quote the offending input (fmt %q or '%s'). An unbalanced quote
// blanks the rest: too much hidden beats a leaked fragment.
func blankQuoted(s string) string {
	var b strings.Builder
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case quote != 0 && r == '\\':
			escaped = true // %q escapes quotes inside the span
		case quote == 0 && (r == '\'' || r == '"'):
			quote = r
			b.WriteString("'…'")
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}
