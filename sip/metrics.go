package sip

import (
	"strconv"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors. They are not registered
// anywhere by this package: the caller registers Server.Collectors() on the
// registry it serves at /metrics, so tests can run many servers.
type metrics struct {
	requests        *prometheus.CounterVec
	registrations   prometheus.Collector
	authFailures    *prometheus.CounterVec
	authBlocks      prometheus.Counter
	accountAlerts   prometheus.Counter
	activeCalls     prometheus.Gauge
	calls           *prometheus.CounterVec
	setup           prometheus.Histogram
	trunkRegistered *prometheus.GaugeVec
}

func newMetrics(countRegistrations func() float64) *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teamline_sip_requests_total",
			Help: "SIP requests received, by method and the status code of the final response (\"none\" for ACK).",
		}, []string{"method", "response"}),
		// Counted in the database at each scrape: exact, and the same
		// on every gateway sharing it.
		registrations: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "teamline_sip_registrations",
			Help: "Registered phone contacts (all gateways sharing the database), counted at the scrape.",
		}, countRegistrations),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teamline_sip_auth_failures_total",
			Help: "Requests refused for authentication: bad_credentials, or blocked (from an address blocked after repeated failures).",
		}, []string{"reason"}),
		authBlocks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teamline_sip_auth_blocks_total",
			Help: "Addresses blocked after repeated authentication failures.",
		}),
		// Not labelled by user name: the names are the attacker's
		// choice, and each would be a time series of its own.
		accountAlerts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teamline_sip_auth_account_alerts_total",
			Help: "Times a user name (known or not) failed digest authentication registrar.account_failure_alert times within registrar.failure_window, from any addresses; each is logged with the name.",
		}),
		activeCalls: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "teamline_calls_active",
			Help: "Calls in progress (ringing or answered).",
		}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teamline_calls_total",
			Help: "Calls ended, by direction (inbound, outbound, internal) and result (answered, no_answer, busy, ...).",
		}, []string{"direction", "result"}),
		setup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "teamline_call_setup_seconds",
			Help:    "Time from the caller's INVITE to the answer the gateway relays, for answered calls.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60},
		}),
		trunkRegistered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "teamline_trunk_registered",
			Help: "1 while the gateway is registered with the trunk's carrier (trunks with register: true).",
		}, []string{"trunk"}),
	}
}

// observe counts one request answered with code (0: no response, as for ACK).
func (m *metrics) observe(method gosip.RequestMethod, code int) {
	response := "none"
	if code > 0 {
		response = strconv.Itoa(code)
	}
	m.requests.WithLabelValues(methodLabel(method), response).Inc()
}

// methodLabel keeps the label's cardinality bounded: the method token is
// chosen by whoever sends us a packet.
func methodLabel(m gosip.RequestMethod) string {
	switch m {
	case gosip.INVITE, gosip.ACK, gosip.CANCEL, gosip.BYE, gosip.REGISTER,
		gosip.OPTIONS, gosip.SUBSCRIBE, gosip.NOTIFY, gosip.PUBLISH, gosip.INFO,
		gosip.REFER, gosip.MESSAGE, gosip.PRACK, gosip.UPDATE:
		return string(m)
	}
	return "OTHER"
}

// Collectors returns the server's Prometheus collectors, to register on the
// registry that serves /metrics:
//
//	teamline_sip_requests_total{method,response}  counter
//	teamline_sip_registrations                    gauge
//	teamline_sip_auth_failures_total{reason}      counter
//	teamline_sip_auth_blocks_total                counter
//	teamline_sip_auth_account_alerts_total        counter
//	teamline_calls_active                         gauge
//	teamline_calls_total{direction,result}        counter
//	teamline_call_setup_seconds                   histogram
//	teamline_trunk_registered{trunk}              gauge
func (s *Server) Collectors() []prometheus.Collector {
	m := s.metrics
	return []prometheus.Collector{m.requests, m.registrations, m.authFailures, m.authBlocks, m.accountAlerts, m.activeCalls, m.calls, m.setup, m.trunkRegistered, s.edge.rejected}
}
