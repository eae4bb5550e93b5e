package sip

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// mwiTimeout bounds one NOTIFY; a phone that does not answer loses only
// its message light.
const mwiTimeout = 4 * time.Second

// notifyMWI tells the user's registered phones how many voicemails wait,
// with an unsolicited message-summary NOTIFY (RFC 3842 3.5; Asterisk and
// FreeSWITCH send the same without a SUBSCRIBE, and most desk phones and
// softphones light their message lamp from it).
func (s *Server) notifyMWI(ctx context.Context, log *slog.Logger, username string) {
	b := s.opts.backend
	if b.RecordingIndex == nil {
		return
	}
	unheard, total, err := b.RecordingIndex.UnheardVoicemails(ctx, username)
	if err != nil {
		log.Warn("mwi not sent", "error", err)
		return
	}
	targets, err := s.userTargets(ctx, username, false)
	if err != nil || len(targets) == 0 {
		return
	}
	body := mwiBody(unheard, total-unheard, s.contactHost("udp"), username)
	var wg sync.WaitGroup
	for _, t := range targets { // registered phones only: no cell phone
		wg.Go(func() {
			if err := s.sendNotify(ctx, t, body); err != nil {
				log.Debug("mwi notify failed", "target", truncate(t.uri.String(), 128), "error", err)
			}
		})
	}
	wg.Wait()
}

// mwiBody is an RFC 3842 section 5.2 message summary.
func mwiBody(newMsgs, oldMsgs int, host, user string) []byte {
	waiting := "no"
	if newMsgs > 0 {
		waiting = "yes"
	}
	return fmt.Appendf(nil, "Messages-Waiting: %s\r\nMessage-Account: sip:%s@%s\r\nVoice-Message: %d/%d (0/0)\r\n",
		waiting, user, host, newMsgs, oldMsgs)
}

func (s *Server) sendNotify(ctx context.Context, t *target, body []byte) error {
	cl := s.client(strings.ToLower(t.transport))
	if cl == nil {
		return fmt.Errorf("no %s client", t.transport)
	}
	req := gosip.NewRequest(gosip.NOTIFY, t.uri)
	fh := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: t.uri.User, Host: s.contactHost(t.transport)}}
	fh.Params = gosip.NewParams()
	fh.Params.Add("tag", gosip.GenerateTagN(16))
	req.AppendHeader(fh)
	req.AppendHeader(&gosip.ToHeader{Address: t.to})
	req.AppendHeader(gosip.NewHeader("Event", "message-summary"))
	req.AppendHeader(gosip.NewHeader("Subscription-State", "active"))
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/simple-message-summary"))
	req.SetBody(body)
	req.SetTransport(strings.ToUpper(t.transport))
	if t.dest != "" {
		req.SetDestination(t.dest)
	}
	nctx, cancel := context.WithTimeout(ctx, mwiTimeout)
	defer cancel()
	res, err := cl.Do(nctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}
