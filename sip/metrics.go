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
	requests *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teamline_sip_requests_total",
			Help: "SIP requests received, by method and the status code of the final response (\"none\" for ACK).",
		}, []string{"method", "response"}),
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
func (s *Server) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.metrics.requests}
}
