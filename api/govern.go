package api

import (
	"net/http"

	"github.com/datadragon/datadragon/app"
)

// governance is what serves /v1/governance: app.App has it; a Reader
// without it answers 404.
type governance interface {
	Governance() (*app.GovernanceView, error)
}

// governance serves the validator registry (powers now, governance
// nonces), the validator set's history and the open proposals.
func (h *Handler) governance(w http.ResponseWriter, r *http.Request) {
	g, ok := h.app.(governance)
	if !ok {
		writeError(w, http.StatusNotFound, "this node serves no governance view")
		return
	}
	v, err := g.Governance()
	if err != nil {
		h.appError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, v)
}
