package fhir

import (
	"encoding/base64"

	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/services/records/internal/record"
)

// The directory: organizations, hospitals (CCN) and groups (TIN) are all FHIR
// Organizations, told apart by identifier; clinicians are Practitioners; locations
// and devices their namesakes.

func (c *Codec) registerDirectory() {
	s := c.svc
	hasIdent := func(system string) func(*reader) bool {
		return func(r *reader) bool {
			ids, _ := r.m["identifier"].([]any)
			for _, i := range ids {
				if m, ok := i.(obj); ok && m["system"] == system {
					return true
				}
			}
			return false
		}
	}
	bind(c, "Organization", s.Hospitals, hasIdent(SystemCCN),
		func(r *reader, h *record.Hospital) {
			if id := r.first("identifier", true); id != nil {
				h.CCN = id.identifierValue("ccn", SystemCCN)
			}
			h.Name = r.str("name", "name", true)
			r.ref("partOf", "organization_id", true, "Organization", func(id string) { h.OrganizationID = id })
			h.CriticalAccess = r.extBool("critical-access", "critical_access")
		},
		func(h *record.Hospital) obj {
			o := obj{"identifier": []any{identifier(SystemCCN, h.CCN)}, "active": true, "name": h.Name,
				"type": []any{ours("organization-kind", "hospital")}, "partOf": reference("Organization", h.OrganizationID)}
			var e exts
			e.flag("critical-access", h.CriticalAccess)
			e.set(o)
			return o
		})
	bind(c, "Organization", s.Groups, hasIdent(SystemTIN),
		func(r *reader, g *record.Group) {
			if id := r.first("identifier", true); id != nil {
				g.TIN = id.identifierValue("tin", SystemTIN)
			}
			g.Name = r.str("name", "name", true)
			r.ref("partOf", "organization_id", true, "Organization", func(id string) { g.OrganizationID = id })
		},
		func(g *record.Group) obj {
			return obj{"identifier": []any{identifier(SystemTIN, g.TIN)}, "active": true, "name": g.Name,
				"type": []any{ours("organization-kind", "group")}, "partOf": reference("Organization", g.OrganizationID)}
		})
	bind(c, "Organization", s.Organizations, nil,
		func(r *reader, o *record.Organization) {
			o.Name = r.str("name", "name", true)
			if t := r.first("type", true); t != nil {
				o.Kind = t.conceptOf("kind", true, []string{CodeSystemBase + "organization-kind"}).Code
				r.d.note("kind", t.path)
			}
			r.ref("partOf", "part_of", false, "Organization", func(id string) { o.PartOf = id })
		},
		func(o *record.Organization) obj {
			out := obj{"active": true, "name": o.Name, "type": []any{ours("organization-kind", o.Kind)}}
			setRef(out, "partOf", "Organization", o.PartOf)
			return out
		})

	bind(c, "Practitioner", s.Clinicians, nil,
		func(r *reader, p *record.Clinician) {
			if id := r.first("identifier", true); id != nil {
				p.NPI = id.identifierValue("npi", SystemNPI)
			}
			if n := r.first("name", true); n != nil {
				p.Name.Family = n.str("family", "name.family", true)
				p.Name.Given = n.strings("given", "name.given")
			}
			if q := r.first("qualification", true); q != nil {
				p.Credential = q.conceptCode("code", "credential", CodeSystemBase+"credential", true)
			}
			for i, e := range r.exts("billing-tin") {
				p.TINs = append(p.TINs, e.str("valueString", "", true))
				r.d.note("tins["+itoa(i)+"]", e.at("valueString"))
				checkIdent(r.d, e.at("valueString"), SystemTIN, p.TINs[i])
			}
		},
		func(p *record.Clinician) obj {
			name := obj{"family": p.Name.Family}
			if len(p.Name.Given) > 0 {
				name["given"] = toAny(p.Name.Given)
			}
			o := obj{"identifier": []any{identifier(SystemNPI, p.NPI)}, "active": true, "name": []any{name},
				"qualification": []any{obj{"code": ours("credential", p.Credential)}}}
			var e exts
			for _, t := range p.TINs {
				e.str("billing-tin", t)
			}
			e.set(o)
			return o
		})

	bind(c, "Location", s.Locations, nil,
		func(r *reader, l *record.Location) {
			l.Name = r.str("name", "name", true)
			r.ref("managingOrganization", "organization_id", true, "Organization", func(id string) { l.OrganizationID = id })
			if t := r.first("type", true); t != nil {
				l.POS = t.conceptOf("pos", true, []string{SystemPOS}).Code
				r.d.note("pos", t.path)
			}
			if id := r.first("identifier", false); id != nil {
				l.TIN = id.identifierValue("tin", SystemTIN)
			}
			l.CEHRT = r.extBool("cehrt", "cehrt")
			r.extRef("hospital", "hospital_id", "Organization", func(id string) { l.HospitalID = id })
		},
		func(l *record.Location) obj {
			o := obj{"status": "active", "name": l.Name, "managingOrganization": reference("Organization", l.OrganizationID),
				"type": []any{concept(codeOf(SystemPOS, l.POS))}}
			if l.TIN != "" {
				o["identifier"] = []any{identifier(SystemTIN, l.TIN)}
			}
			var e exts
			e.add("cehrt", "valueBoolean", l.CEHRT)
			e.ref("hospital", "Organization", l.HospitalID)
			e.set(o)
			return o
		})

	bind(c, "Device", s.Devices, nil,
		func(r *reader, d *record.Device) {
			r.ref("owner", "organization_id", true, "Organization", func(id string) { d.OrganizationID = id })
			d.Kind = r.conceptCode("type", "kind", CodeSystemBase+"device-kind", true)
			if n := r.first("deviceName", false); n != nil {
				d.Name = n.str("name", "name", true)
			}
			d.Retired = r.code("status", "retired", false, "active", "inactive") == "inactive"
			if e := r.ext("public-key"); e != nil {
				s := e.str("valueBase64Binary", "public_key", true)
				k, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					r.d.fail(CodeValue, e.at("valueBase64Binary"), "not base64")
				}
				d.PublicKey = k
			} else {
				r.d.fail(CodeRequired, r.at("extension"), "the public-key extension is required")
			}
		},
		func(d *record.Device) obj {
			status := "active"
			if d.Retired {
				status = "inactive"
			}
			o := obj{"status": status, "type": ours("device-kind", d.Kind), "owner": reference("Organization", d.OrganizationID)}
			if d.Name != "" {
				o["deviceName"] = []any{obj{"name": d.Name, "type": "user-friendly-name"}}
			}
			var e exts
			e.add("public-key", "valueBase64Binary", base64.StdEncoding.EncodeToString(d.PublicKey))
			e.set(o)
			return o
		})
}

func toAny[S ~string](s []S) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

func names(s []string) []phi.Name {
	if s == nil {
		return nil
	}
	out := make([]phi.Name, len(s))
	for i, v := range s {
		out[i] = phi.Name(v)
	}
	return out
}
