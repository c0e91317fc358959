// Package conformance holds ONC's (g)(1)/(g)(2) test decks (decks/, Apache-2.0, with
// their LICENSE and notice) and what replays them: deck (the model), translate (the
// facts each entry describes, as API requests) and run (the runner behind `attest
// conformance`).
package conformance

import (
	"embed"
	"io/fs"
)

//go:embed decks
var embedded embed.FS

// Decks are the published decks, by edition folder: 2025/RT1/EP_RT1_G1.json, ….
func Decks() fs.FS {
	sub, err := fs.Sub(embedded, "decks")
	if err != nil {
		panic(err) // the folder is embedded above
	}
	return sub
}
