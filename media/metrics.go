package media

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// dropReason is why a packet was not relayed; the label of
// teamline_rtp_dropped_total.
type dropReason int

const (
	dropMalformed        dropReason = iota // not RTP/RTCP version 2, or cut
	dropUnknownPT                          // payload type not negotiated
	dropNoTelephoneEvent                   // a DTMF event, but the other leg has no telephone-event
	dropNoRemote                           // the other side's address or codec is not known (yet), or it is on hold with 0.0.0.0
	dropNotStarted                         // arrived before Start
	dropSendError                          // the kernel refused to send
	numDropReasons
	dropNone dropReason = -1
)

var dropReasonNames = [numDropReasons]string{
	dropMalformed:        "malformed",
	dropUnknownPT:        "unknown_pt",
	dropNoTelephoneEvent: "no_telephone_event",
	dropNoRemote:         "no_remote",
	dropNotStarted:       "not_started",
	dropSendError:        "send_error",
}

// counters belong to one receiving goroutine (one socket), so no two
// goroutines write the same cache line per packet. The padding keeps
// neighbouring counters apart.
type counters struct {
	pkts, bytes       atomic.Uint64 // arrived
	fwdPkts, fwdBytes atomic.Uint64 // relayed to the other side
	transcoded        atomic.Uint64
	dropped           [numDropReasons]atomic.Uint64
	_                 [64]byte
}

func (c *counters) drop(r dropReason) { c.dropped[r].Add(1) }

// totals are summed RTP counters, for the metrics.
type totals struct {
	inPkts, inBytes, outPkts, outBytes, transcoded uint64
	dropped                                        [numDropReasons]uint64
}

func (t *totals) add(c *counters) {
	t.inPkts += c.pkts.Load()
	t.inBytes += c.bytes.Load()
	t.outPkts += c.fwdPkts.Load()
	t.outBytes += c.fwdBytes.Load()
	t.transcoded += c.transcoded.Load()
	for i := range c.dropped {
		t.dropped[i] += c.dropped[i].Load()
	}
}

// addTotals adds b's RTP counters (and RTCP drops) to t.
func (b *Bridge) addTotals(t *totals) {
	for _, l := range b.legs {
		t.add(&l.rtpIn)
		for i := range l.rtcpIn.dropped {
			t.dropped[i] += l.rtcpIn.dropped[i].Load()
		}
	}
}

var (
	descPackets    = prometheus.NewDesc("teamline_rtp_packets_total", "RTP packets received (in) from and sent (out) to the legs of all bridges.", []string{"direction"}, nil)
	descBytes      = prometheus.NewDesc("teamline_rtp_bytes_total", "RTP bytes (UDP payload) received (in) and sent (out).", []string{"direction"}, nil)
	descDropped    = prometheus.NewDesc("teamline_rtp_dropped_total", "RTP and RTCP packets not relayed, by reason.", []string{"reason"}, nil)
	descPortsInUse = prometheus.NewDesc("teamline_rtp_ports_in_use", "RTP and RTCP ports bound right now.", nil, nil)
	descTranscoded = prometheus.NewDesc("teamline_rtp_transcoded_packets_total", "RTP packets converted between mu-law and A-law.", nil, nil)
)

// Collectors returns the engine's metrics. They are summed from the
// bridges' own counters at scrape time, so the relay never touches a
// counter shared between bridges.
func (e *Engine) Collectors() []prometheus.Collector {
	return []prometheus.Collector{engineCollector{e}}
}

type engineCollector struct{ e *Engine }

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPackets
	ch <- descBytes
	ch <- descDropped
	ch <- descPortsInUse
	ch <- descTranscoded
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	c.e.mu.Lock()
	t := c.e.retired
	for b := range c.e.bridges {
		b.addTotals(&t)
	}
	c.e.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(t.inPkts), "in")
	ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(t.outPkts), "out")
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(t.inBytes), "in")
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(t.outBytes), "out")
	for i, n := range t.dropped {
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(n), dropReasonNames[i])
	}
	ch <- prometheus.MustNewConstMetric(descPortsInUse, prometheus.GaugeValue, float64(c.e.PortsInUse()))
	ch <- prometheus.MustNewConstMetric(descTranscoded, prometheus.CounterValue, float64(t.transcoded))
}
