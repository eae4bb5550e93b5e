package config

import (
	"fmt"
	"net/url"
)

// Verification configures how the codes that verify an agent's cell phone (R-ACC-3) are sent, until
// texts go out through the trunks.
type Verification struct {
	// Sender is VerificationSenderLog (nothing is sent: the log says a code was sent to the number) or
	// VerificationSenderWebhook (the text is posted to WebhookURL). Default "log".
	Sender string `yaml:"sender" json:"sender"`
	// LogCodes makes the log sender log the text with the code itself, for a lab without a way to send
	// texts: anyone who reads the log can verify any number. Only with sender log. Default false.
	LogCodes bool `yaml:"log_codes" json:"log_codes"`
	// WebhookURL receives a POST of JSON {"to": "+15551234567", "text": "Your Teamline verification code
	// is 123456"} per code; any answer but 2xx, or none within 10 s, is a failure the user is told of.
	// An http or https URL without user:password (use WebhookToken). Required with sender webhook.
	WebhookURL string `yaml:"webhook_url" json:"webhook_url"`
	// WebhookToken, when set, is sent as "Authorization: Bearer TOKEN". Only with sender webhook.
	// Default empty.
	WebhookToken Secret `yaml:"webhook_token" json:"webhook_token"`
}

// Values of Verification.Sender.
const (
	VerificationSenderLog     = "log"
	VerificationSenderWebhook = "webhook"
)

var verificationSenders = []string{VerificationSenderLog, VerificationSenderWebhook}

func defaultVerification() Verification {
	return Verification{Sender: VerificationSenderLog}
}

func (v *validator) verification(c *Verification) {
	if !v.oneOf("verification.sender", c.Sender, verificationSenders) {
		return
	}
	if c.Sender != VerificationSenderWebhook {
		if c.WebhookURL != "" {
			v.add("verification.webhook_url", "only used with sender webhook, not %s", c.Sender)
		}
		if c.WebhookToken.IsSet() {
			v.add("verification.webhook_token", "only used with sender webhook, not %s", c.Sender)
		}
		return
	}
	if c.LogCodes {
		v.add("verification.log_codes", "only used with sender log, not %s", c.Sender)
	}
	if c.WebhookURL == "" {
		v.add("verification.webhook_url", "required with sender webhook")
	} else if reason := checkWebhookURL(c.WebhookURL); reason != "" {
		v.add("verification.webhook_url", "%s", reason)
	}
	v.webhookToken(c)
}

// webhookToken checks the token's value; one still to be read is checked when it is read.
func (v *validator) webhookToken(c *Verification) {
	if hasControl(c.WebhookToken.Value()) {
		// It goes into a header; never quote it.
		v.add("verification.webhook_token", "must not contain control characters")
	}
}

// checkWebhookURL says what is wrong with a webhook URL, or "". The reason never quotes the URL, whose
// user information may hold a password; url.Parse refuses control characters.
func checkWebhookURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "not a URL"
	}
	host, port := u.Hostname(), u.Port()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "want an http:// or https:// URL"
	case u.User != nil:
		return "must not carry user:password; give the credential as webhook_token"
	case host == "":
		return "names no host"
	case !validHost(host):
		return fmt.Sprintf("%q is not an IP address or host name", host)
	case port != "":
		if err := checkPort(port); err != nil {
			return err.Error()
		}
	}
	return ""
}
