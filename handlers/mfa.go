package handlers

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"gatehouse/auth"
	"gatehouse/models"
)

// qrSize is the side of the set-up QR code, in pixels.
const qrSize = 240

// mfaPage is the data of mfa.html ("Two-factor authentication" on My
// info): the state, and — right after the step that made them — a set-up
// to scan or the recovery codes to keep, each shown once.
type mfaPage struct {
	Status        auth.MFAStatus
	Setup         *totpSetupView
	RecoveryCodes []string
}

// totpSetupView is a set-up as the page shows it: the QR code as a data:
// URL (made here, so the secret goes nowhere else) and the secret written
// out for typing.
type totpSetupView struct {
	Secret string
	URL    string
	QRCode template.URL
}

func newTOTPSetupView(s auth.TOTPSetup) (*totpSetupView, error) {
	png, err := s.QRCode(qrSize)
	if err != nil {
		return nil, err
	}
	// A data: URL of a PNG we drew ourselves: safe to mark as a URL.
	qr := template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	return &totpSetupView{Secret: s.Secret, URL: s.URL, QRCode: qr}, nil
}

func (h *handler) newMFAPage(ctx context.Context, caller *auth.Caller) (mfaPage, error) {
	st, err := h.auth.MFAStatus(ctx, caller)
	return mfaPage{Status: st}, err
}

// recoveryCodes is the answer that shows new recovery codes, once.
type recoveryCodes struct {
	Detail        string   `json:"detail"`
	RecoveryCodes []string `json:"recovery_codes"`
}

// showMFA serves GET /admin/me/2fa and GET /api/me/2fa to a caller with
// user:read: whether two-factor authentication is on, and how many
// recovery codes are left.
func (h *handler) showMFA(c echo.Context) error {
	page, err := h.newMFAPage(c.Request().Context(), callerOf(c))
	if err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, page.Status)
	}
	return c.Render(http.StatusOK, "mfa.html", page)
}

// setupTOTP serves POST /admin/me/2fa/totp/setup and POST
// /api/me/2fa/totp/setup to a caller with user:write and a recent
// authentication: a new secret, as JSON {secret, otpauth_url} or as the
// page with its QR code and the code field.
func (h *handler) setupTOTP(c echo.Context) error {
	ctx := c.Request().Context()
	caller := callerOf(c)
	setup, err := h.auth.SetupTOTP(ctx, caller)
	if err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, setup)
	}
	page, err := h.newMFAPage(ctx, caller)
	if err != nil {
		return err
	}
	if page.Setup, err = newTOTPSetupView(setup); err != nil {
		return err
	}
	return c.Render(http.StatusOK, "mfa.html", page)
}

// enableTOTP serves POST /admin/me/2fa/totp/enable and POST
// /api/me/2fa/totp/enable ({"code"}) to a caller with user:write and a
// recent authentication: two-factor authentication goes on and the 10
// recovery codes are answered, shown this once. A wrong code is 422 on
// the code field; the page shows the same set-up again.
func (h *handler) enableTOTP(c echo.Context) error {
	var in struct {
		Code string `json:"code" form:"code"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	caller := callerOf(c)
	codes, err := h.auth.EnableTOTP(ctx, caller, in.Code, clientOf(c))
	if err != nil {
		return withPage(err, "mfa.html", func() (any, error) {
			page, err := h.newMFAPage(ctx, caller)
			if err != nil {
				return nil, err
			}
			setup, err := h.auth.PendingTOTP(ctx, caller)
			if errors.Is(err, models.ErrNotFound) {
				return page, nil
			}
			if err != nil {
				return nil, err
			}
			page.Setup, err = newTOTPSetupView(setup)
			return page, err
		})
	}
	return h.showRecoveryCodes(c, "Two-factor authentication is on.", codes)
}

// regenerateRecoveryCodes serves POST /admin/me/2fa/recovery-codes and
// POST /api/me/2fa/recovery-codes to a caller with user:write and a
// recent authentication: 10 new codes, shown once; the old ones stop
// working.
func (h *handler) regenerateRecoveryCodes(c echo.Context) error {
	codes, err := h.auth.RegenerateRecoveryCodes(c.Request().Context(), callerOf(c), clientOf(c))
	if err != nil {
		return err
	}
	return h.showRecoveryCodes(c, "New recovery codes made; the old ones no longer work.", codes)
}

// showRecoveryCodes answers new recovery codes: JSON, or the page that
// shows them once with the hint to keep them.
func (h *handler) showRecoveryCodes(c echo.Context, message string, codes []string) error {
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, recoveryCodes{Detail: message, RecoveryCodes: codes})
	}
	page, err := h.newMFAPage(c.Request().Context(), callerOf(c))
	if err != nil {
		return err
	}
	page.RecoveryCodes = codes
	return c.Render(http.StatusOK, "mfa.html", page)
}

// disableMFA serves POST /admin/me/2fa/disable and POST
// /api/me/2fa/disable to a caller with user:write and a recent
// authentication: two-factor authentication goes off, with its recovery
// codes.
func (h *handler) disableMFA(c echo.Context) error {
	if err := h.auth.DisableMFA(c.Request().Context(), callerOf(c), clientOf(c)); err != nil {
		return err
	}
	return succeeded(c, http.StatusOK, "mfa_disabled", "/admin/me/2fa")
}

// resetUserMFA serves POST /admin/users/{id}/2fa/reset and POST
// /api/users/{id}/2fa/reset to an administrator (admin:write): the user's
// two-factor authentication goes off and every session of theirs ends.
func (h *handler) resetUserMFA(c echo.Context) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	n, err := h.auth.ResetMFA(c.Request().Context(), callerOf(c), id, clientOf(c))
	if err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, ended{Detail: outcomes["user_mfa_reset"].Detail, Ended: n})
	}
	return seeOther(c, "/admin/users/"+strconv.FormatUint(id, 10), "user_mfa_reset")
}
