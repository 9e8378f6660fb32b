package handlers

import (
	"mime"

	"github.com/labstack/echo/v4"
)

// bind reads a request body into dst from JSON, a URL-encoded form or
// multipart form data; any other body type is 415 (Echo would also read
// XML). An empty body binds nothing, so required fields are checked by
// validation (422), not here.
func bind(c echo.Context, dst any) error {
	req := c.Request()
	if req.ContentLength != 0 {
		mediaType, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
		switch mediaType {
		case echo.MIMEApplicationJSON, echo.MIMEApplicationForm, echo.MIMEMultipartForm:
		default:
			return echo.ErrUnsupportedMediaType
		}
	}
	if err := (&echo.DefaultBinder{}).BindBody(c, dst); err != nil {
		return err
	}
	return nil
}
