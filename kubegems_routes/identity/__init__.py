"""Sign-in through the organisation's OpenID Connect provider, and its groups mapped onto roles."""
