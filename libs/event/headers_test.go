package event_test

import (
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/event"
	"github.com/google/go-cmp/cmp"
	"github.com/segmentio/kafka-go"
)

func TestMessageRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		e    event.Event
	}{
		{"every field", event.Event{
			ID: "0190a4c8-0000-7000-8000-000000000001", Type: "records.patient.registered", Source: "records",
			Subject: "patient-1", Time: at.UTC(), RecordedAt: at.Add(time.Nanosecond).UTC(), Data: []byte(`{"a":1}`),
			Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		}},
		{"only required fields", event.Event{ID: "id", Type: "t.e.v", Source: "s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := event.ToMessage(tc.e)
			if string(m.Key) != tc.e.Subject {
				t.Errorf("key = %q, want the subject %q", m.Key, tc.e.Subject)
			}
			m.Topic, m.Partition, m.Offset = "records.patient.v1", 2, 42
			got, err := event.FromMessage(m)
			if err != nil {
				t.Fatalf("FromMessage: %v", err)
			}
			want := tc.e
			want.Topic, want.Partition, want.Offset = "records.patient.v1", 2, 42
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestToMessageHeaders(t *testing.T) {
	e := event.Event{ID: "id-1", Type: "a.b.c", Source: "src", Subject: "subj",
		Time: time.Date(2026, 5, 6, 7, 8, 9, 100, time.FixedZone("X", -7200)), Traceparent: "tp"}
	m := event.ToMessage(e)
	want := map[string]string{
		"ce_specversion": "1.0", "ce_id": "id-1", "ce_type": "a.b.c", "ce_source": "src", "ce_subject": "subj",
		"ce_time": "2026-05-06T09:08:09.0000001Z", "content-type": "application/json", "traceparent": "tp",
	}
	got := map[string]string{}
	for _, h := range m.Headers {
		got[h.Key] = string(h.Value)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

func TestFromMessageInvalid(t *testing.T) {
	const secret = "PATIENT-SECRET"
	valid := func() []kafka.Header {
		return event.ToMessage(event.Event{ID: "id", Type: "t", Source: "s", Subject: secret,
			Time: time.Now(), RecordedAt: time.Now()}).Headers
	}
	without := func(key string) []kafka.Header {
		var hs []kafka.Header
		for _, h := range valid() {
			if h.Key != key {
				hs = append(hs, h)
			}
		}
		return hs
	}
	with := func(key, value string) []kafka.Header {
		hs := valid()
		event.HeaderCarrier{Headers: &hs}.Set(key, value)
		return hs
	}
	tests := []struct {
		name       string
		headers    []kafka.Header
		wantHeader string
	}{
		{"no headers at all", nil, "ce_specversion"},
		{"no specversion", without("ce_specversion"), "ce_specversion"},
		{"other specversion", with("ce_specversion", "0.3"), "ce_specversion"},
		{"no id", without("ce_id"), "ce_id"},
		{"no type", without("ce_type"), "ce_type"},
		{"no source", without("ce_source"), "ce_source"},
		{"bad time", with("ce_time", secret), "ce_time"},
		{"bad recorded time", with("ce_recordedtime", "yesterday "+secret), "ce_recordedtime"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := event.FromMessage(kafka.Message{Key: []byte(secret), Value: []byte(`{"name":"` + secret + `"}`), Headers: tc.headers})
			if err == nil {
				t.Fatal("FromMessage succeeded")
			}
			if !event.IsPermanent(err) {
				t.Errorf("error %v is not Permanent", err)
			}
			if !strings.Contains(err.Error(), tc.wantHeader) {
				t.Errorf("error %q does not name header %s", err, tc.wantHeader)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q leaks a value", err)
			}
		})
	}
}

func TestHeaderCarrier(t *testing.T) {
	tests := []struct {
		name     string
		headers  []kafka.Header
		set      [][2]string
		wantKeys []string
		wantGet  map[string]string
	}{
		{"set on empty", nil, [][2]string{{"traceparent", "a"}}, []string{"traceparent"}, map[string]string{"traceparent": "a"}},
		{"set replaces every copy", []kafka.Header{{Key: "traceparent", Value: []byte("old")}, {Key: "k", Value: []byte("v")},
			{Key: "traceparent", Value: []byte("older")}}, [][2]string{{"traceparent", "new"}},
			[]string{"k", "traceparent"}, map[string]string{"traceparent": "new", "k": "v", "missing": ""}},
		{"get returns the first", []kafka.Header{{Key: "a", Value: []byte("1")}, {Key: "a", Value: []byte("2")}}, nil,
			[]string{"a", "a"}, map[string]string{"a": "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := append([]kafka.Header(nil), tc.headers...)
			hs := tc.headers
			c := event.HeaderCarrier{Headers: &hs}
			for _, kv := range tc.set {
				c.Set(kv[0], kv[1])
			}
			if diff := cmp.Diff(tc.wantKeys, c.Keys()); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			for k, v := range tc.wantGet {
				if got := c.Get(k); got != v {
					t.Errorf("Get(%q) = %q, want %q", k, got, v)
				}
			}
			// Set must not write through to the array another message may share.
			if diff := cmp.Diff(orig, tc.headers); diff != "" {
				t.Errorf("original headers changed (-before +after):\n%s", diff)
			}
		})
	}
	var zero event.HeaderCarrier
	zero.Set("a", "b") // must not panic
	if zero.Get("a") != "" || zero.Keys() != nil {
		t.Error("zero carrier is not empty")
	}
}
