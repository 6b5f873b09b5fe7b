//! A test OpenID provider on 127.0.0.1, run by the tests themselves: discovery, a JWKS whose
//! keys can be rotated (and whose fetches are counted), an authorize endpoint that approves at
//! once as whichever account the test chose, and a token endpoint that checks PKCE and the
//! redirect URI and honours each code once.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A key the provider signs with, and its public half as a JWK.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl SigningKey {
    fn new(kid: &str, alg: Algorithm, encoding: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).expect("public JWK");
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            alg,
            encoding,
            jwk,
        }
    }

    pub fn rsa(kid: &str, fixture: &str) -> Self {
        Self::new(
            kid,
            Algorithm::RS256,
            EncodingKey::from_rsa_der(&read_fixture(fixture)),
        )
    }

    pub fn ec(kid: &str, fixture: &str) -> Self {
        Self::new(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(&read_fixture(fixture)),
        )
    }

    pub fn ed(kid: &str, fixture: &str) -> Self {
        Self::new(
            kid,
            Algorithm::EdDSA,
            EncodingKey::from_ed_der(&read_fixture(fixture)),
        )
    }

    /// A JWT of these claims, signed with this key; `kid` overrides the header's key id.
    pub fn sign(&self, claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.unwrap_or(&self.kid).to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

fn read_fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/api/fixtures/idp/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Who the provider says signs in next.
#[derive(Debug, Clone)]
pub struct Account {
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub groups: Vec<String>,
}

impl Account {
    pub fn new(groups: &[&str]) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            subject: format!("sub-{id}"),
            email: format!("sso-{id}@example.com"),
            email_verified: true,
            name: "Sam Sso".into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }
}

struct Grant {
    redirect_uri: String,
    nonce: Option<String>,
    challenge: Option<String>,
    client_id: String,
    account: Account,
}

struct Inner {
    issuer: String,
    published: Mutex<Vec<Jwk>>,
    signing: Mutex<SigningKey>,
    account: Mutex<Account>,
    codes: Mutex<HashMap<String, Grant>>,
    /// Set to put this nonce in ID tokens instead of the one the sign-in sent.
    forced_nonce: Mutex<Option<String>>,
    jwks_fetches: AtomicUsize,
    /// Set to make the JWKS endpoint fail, as a provider in trouble does.
    jwks_failing: AtomicBool,
}

pub struct Idp {
    pub issuer: String,
    inner: Arc<Inner>,
}

impl Idp {
    /// A provider signing with `rsa-1.der` (kid `k1`); `ec-1.der` (kid `e1`) and `ed-1.der`
    /// (kid `d1`) also published.
    pub async fn start() -> Self {
        Self::start_as("").await
    }

    /// As `start`, with an issuer URL that ends in a slash (as some providers' do).
    pub async fn start_with_trailing_slash() -> Self {
        Self::start_as("/").await
    }

    async fn start_as(issuer_suffix: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let issuer = format!("http://127.0.0.1:{port}{issuer_suffix}");
        let signing = SigningKey::rsa("k1", "rsa-1.der");
        let ec = SigningKey::ec("e1", "ec-1.der");
        let ed = SigningKey::ed("d1", "ed-1.der");
        let inner = Arc::new(Inner {
            issuer: issuer.clone(),
            published: Mutex::new(vec![signing.jwk.clone(), ec.jwk, ed.jwk]),
            signing: Mutex::new(signing),
            account: Mutex::new(Account::new(&["writers"])),
            codes: Mutex::new(HashMap::new()),
            forced_nonce: Mutex::new(None),
            jwks_fetches: AtomicUsize::new(0),
            jwks_failing: AtomicBool::new(false),
        });
        let data = web::Data::from(inner.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        actix_web::rt::spawn(server);
        Self { issuer, inner }
    }

    /// Who the next sign-in is.
    pub fn sign_in_as(&self, account: &Account) {
        *self.inner.account.lock().unwrap() = account.clone();
    }

    /// Replaces the published keys with `key` alone and signs with it from now on.
    pub fn rotate_to(&self, key: SigningKey) {
        *self.inner.published.lock().unwrap() = vec![key.jwk.clone()];
        *self.inner.signing.lock().unwrap() = key;
    }

    pub fn force_nonce(&self, nonce: &str) {
        *self.inner.forced_nonce.lock().unwrap() = Some(nonce.to_owned());
    }

    pub fn fail_jwks(&self) {
        self.inner.jwks_failing.store(true, Ordering::SeqCst);
    }

    pub fn jwks_fetches(&self) -> usize {
        self.inner.jwks_fetches.load(Ordering::SeqCst)
    }

    /// The claims the provider puts in a token for `account`, for `audience`, valid 5 minutes.
    pub fn claims(&self, account: &Account, audience: &str) -> Value {
        self.inner.claims(account, audience)
    }

    /// A token signed with the provider's current key.
    pub fn sign(&self, claims: &Value) -> String {
        self.inner.sign(claims)
    }
}

impl Inner {
    fn claims(&self, account: &Account, audience: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer,
            "sub": account.subject,
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "email": account.email,
            "email_verified": account.email_verified,
            "name": account.name,
            "groups": account.groups,
        })
    }

    fn sign(&self, claims: &Value) -> String {
        self.signing.lock().unwrap().sign(claims, None)
    }
}

async fn discovery(idp: web::Data<Inner>) -> HttpResponse {
    let issuer = &idp.issuer;
    let base = issuer.trim_end_matches('/');
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    }))
}

async fn jwks(idp: web::Data<Inner>) -> HttpResponse {
    idp.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if idp.jwks_failing.load(Ordering::SeqCst) {
        return HttpResponse::InternalServerError().finish();
    }
    let keys = idp.published.lock().unwrap().clone();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

async fn authorize(
    idp: web::Data<Inner>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let (Some(redirect_uri), Some(state), Some(client_id)) = (
        query.get("redirect_uri"),
        query.get("state"),
        query.get("client_id"),
    ) else {
        return HttpResponse::BadRequest().body("redirect_uri, state and client_id are required");
    };
    if query.get("response_type").map(String::as_str) != Some("code")
        || query
            .get("code_challenge_method")
            .is_some_and(|m| m != "S256")
    {
        return HttpResponse::BadRequest().body("unsupported response_type or challenge method");
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    idp.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.clone(),
            nonce: query.get("nonce").cloned(),
            challenge: query.get("code_challenge").cloned(),
            client_id: client_id.clone(),
            account: idp.account.lock().unwrap().clone(),
        },
    );
    let mut location = url::Url::parse(redirect_uri).expect("redirect_uri");
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    HttpResponse::Found()
        .insert_header(("location", location.as_str()))
        .finish()
}

fn invalid_grant(why: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": "invalid_grant", "error_description": why}))
}

async fn token(
    req: HttpRequest,
    idp: web::Data<Inner>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    // Client authentication: HTTP Basic (confidential clients) or client_id in the form.
    let basic_client = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.split_once(':').map(|(id, _)| id.to_owned()));
    let client_id = basic_client.or_else(|| form.get("client_id").cloned());
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return HttpResponse::BadRequest().json(json!({"error": "unsupported_grant_type"}));
    }
    // Removed on first use: a replayed code finds nothing.
    let Some(grant) = form
        .get("code")
        .and_then(|code| idp.codes.lock().unwrap().remove(code))
    else {
        return invalid_grant("unknown or used code");
    };
    if client_id.as_deref() != Some(grant.client_id.as_str()) {
        return invalid_grant("the code was issued to another client");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return invalid_grant("redirect_uri differs from the authorization request's");
    }
    if let Some(challenge) = &grant.challenge {
        let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
            return invalid_grant("PKCE verification failed");
        }
    }
    let mut claims = idp.claims(&grant.account, &grant.client_id);
    let access_token = idp.sign(&claims);
    let nonce = idp.forced_nonce.lock().unwrap().clone().or(grant.nonce);
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    claims["azp"] = json!(grant.client_id);
    HttpResponse::Ok().json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": idp.sign(&claims),
    }))
}
