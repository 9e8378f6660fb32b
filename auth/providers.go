package auth

import (
	"strings"

	"gatehouse/auth/provider"
	"gatehouse/models"
)

// OAuthCallbackRoute is where providers send the browser back.
const OAuthCallbackRoute = provider.CallbackRoute

// ProviderInfo names a provider: Name in routes, Display on buttons.
type ProviderInfo = provider.Info

// Providers lists the switched-on providers, in button order.
func (s *Service) Providers() []ProviderInfo { return s.providers.Order() }

// ProviderDisplay is the name a person knows a provider by, also for one
// that is switched off now (an account may still be linked to it).
func (s *Service) ProviderDisplay(name string) string {
	for _, p := range s.cfg.Providers() {
		if p.Key == name {
			return p.Name
		}
	}
	return name
}

// usableProfile is what Gatehouse takes from a provider's word: the email
// in canonical form, and dropped — so counted as unverified — when it is
// not a valid address (ValidateEmail, the rule every email follows).
func usableProfile(p provider.Profile) provider.Profile {
	p.Email = models.CanonicalEmail(p.Email)
	if p.Email == "" || ValidateEmail(p.Email) != "" {
		p.Email, p.EmailVerified = "", false
	}
	p.Name = strings.TrimSpace(p.Name)
	return p
}
