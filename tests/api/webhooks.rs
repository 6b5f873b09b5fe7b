//! Webhooks as a receiver meets them: a local HTTP server the test controls gets each event
//! once, signed (checked here by the Standard Webhooks algorithm), retried with growing gaps,
//! held back by an open breaker, and never sent to a private address unless allowed.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use folio::auth::Role;
use folio::config::Config;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Reply, TestApp, on_each_backend, spawn_app_with};

/// What the receiver answers, request by request; the last answer repeats.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Status(u16),
    /// Says nothing for this long, then closes.
    Hang(Duration),
}

#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// A webhook receiver on 127.0.0.1.
#[derive(Clone)]
struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    fn start(answers: &[Answer]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let receiver = Self {
            address: listener.local_addr().unwrap(),
            received: Arc::default(),
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
        };
        let serving = receiver.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let serving = serving.clone();
                std::thread::spawn(move || serving.answer(stream));
            }
        });
        receiver
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    fn answer_next(&self, answers: &[Answer]) {
        *self.answers.lock().unwrap() = answers.iter().copied().collect();
    }

    fn answer(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut headers = HashMap::new();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.trim_end().split_once(':') {
                headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        self.received.lock().unwrap().push(Received {
            at: Instant::now(),
            headers,
            body: String::from_utf8(body).unwrap(),
        });
        let answer = {
            let mut answers = self.answers.lock().unwrap();
            if answers.len() > 1 {
                answers.pop_front().unwrap()
            } else {
                answers.front().copied().unwrap_or(Answer::Status(200))
            }
        };
        let status = match answer {
            Answer::Status(status) => status,
            Answer::Hang(time) => {
                std::thread::sleep(time);
                return;
            }
        };
        let mut stream = stream;
        let _gone = write!(
            stream,
            "HTTP/1.1 {status} Answer\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (at most 15 s).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let received = self.received();
            if received.len() >= n || Instant::now() > deadline {
                return received;
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The signatures of a request that verify with `secret`, by the specification's algorithm.
fn verifies(request: &Received, secret: &str) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!(
        "{}.{}.{}",
        request.header("webhook-id"),
        request.header("webhook-timestamp"),
        request.body
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(signed.as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    request
        .header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

fn quick(config: &mut Config) {
    config.webhook_allow_private_networks = true;
    config.webhook_retry_base_ms = 100;
    config.webhook_breaker_cooldown_ms = 400;
    config.webhook_timeout_ms = 1_000;
}

async fn spawn(backend: folio::db::Backend, config: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(backend, config, |_| {}).await
}

async fn read(app: &TestApp, token: &str, path: &str) -> Reply {
    app.send(Method::GET, path, Some(token), None, None).await
}

async fn register(app: &TestApp, token: &str, url: &str, events: &[&str]) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/webhooks",
        Some(token),
        Some(json!({"url": url, "events": events})),
        None,
    )
    .await
}

async fn ping(app: &TestApp, token: &str, id: i64) -> Reply {
    let reply = app
        .send(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/ping"),
            Some(token),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    reply
}

const ALL_EVENTS: [&str; 8] = [
    "article.created",
    "article.updated",
    "article.published",
    "article.unpublished",
    "article.deleted",
    "tag.created",
    "tag.updated",
    "tag.deleted",
];

#[actix_web::test]
async fn every_event_arrives_once_signed_and_a_refused_write_sends_nothing() {
    on_each_backend(|backend| async move {
        let app = spawn(backend, quick).await;
        let admin = app.user(Role::Admin).await;
        let receiver = Receiver::start(&[Answer::Status(204)]);
        let created = register(&app, &admin.token, &receiver.url(), &ALL_EVENTS).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let secret = created.body["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(
            created.body["secret_hint"].as_str().unwrap(),
            &secret[secret.len() - 4..]
        );

        let tag = app
            .send(
                Method::POST,
                "/api/v1/tags",
                Some(&admin.token),
                Some(json!({"name": "Hooks"})),
                None,
            )
            .await;
        assert_eq!(tag.status, StatusCode::CREATED, "{}", tag.body);
        let tag_id = tag.body["id"].as_i64().unwrap();
        let (id, etag, article) = app
            .create_article(
                &admin.token,
                json!({"title": "Hooked", "status": "published", "tags": ["Hooks"]}),
            )
            .await;
        let path = format!("/api/v1/articles/{id}");
        // A write refused (the slug is taken) sends nothing.
        app.create_article(&admin.token, json!({"title": "Taken", "slug": "taken"}))
            .await;
        let refused = app
            .send(
                Method::PATCH,
                &path,
                Some(&admin.token),
                Some(json!({"slug": "taken"})),
                Some(&etag),
            )
            .await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        let etag = app
            .send(
                Method::PATCH,
                &path,
                Some(&admin.token),
                Some(json!({"status": "draft"})),
                Some(&etag),
            )
            .await
            .header("etag")
            .unwrap()
            .to_owned();
        let deleted = app
            .send(Method::DELETE, &path, Some(&admin.token), None, Some(&etag))
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
        let (scheduled, _, _) = app
            .create_article(
                &admin.token,
                json!({"title": "Later", "status": "scheduled", "published_at": soon}),
            )
            .await;
        let tag_path = format!("/api/v1/tags/{tag_id}");
        let tag_etag = app
            .get(&tag_path)
            .await
            .headers()
            .get("etag")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let renamed = app
            .send(
                Method::PATCH,
                &tag_path,
                Some(&admin.token),
                Some(json!({"name": "Hooks!"})),
                Some(&tag_etag),
            )
            .await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
        let removed = app
            .send(Method::DELETE, &tag_path, Some(&admin.token), None, None)
            .await;
        assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);

        // tag.created; created + published; created (the one whose slug is taken); updated +
        // unpublished; deleted; created (scheduled), later published; tag.updated; tag.deleted.
        receiver.wait_for(11).await;
        // Anything more (a duplicate) would arrive meanwhile.
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        let received = receiver.received();
        let mut kinds: Vec<(String, i64)> = received
            .iter()
            .map(|r| {
                let event = r.json();
                (
                    event["type"].as_str().unwrap().to_owned(),
                    event["data"]["id"].as_i64().unwrap(),
                )
            })
            .collect();
        kinds.sort();
        let mut expected = vec![
            ("article.created".to_owned(), id),
            ("article.published".to_owned(), id),
            ("article.updated".to_owned(), id),
            ("article.unpublished".to_owned(), id),
            ("article.deleted".to_owned(), id),
            ("article.created".to_owned(), scheduled),
            ("article.published".to_owned(), scheduled),
            ("tag.created".to_owned(), tag_id),
            ("tag.updated".to_owned(), tag_id),
            ("tag.deleted".to_owned(), tag_id),
        ];
        let other: Vec<&(String, i64)> = kinds
            .iter()
            .filter(|(_, subject)| *subject != id && *subject != scheduled && *subject != tag_id)
            .collect();
        assert_eq!(other.len(), 1, "the draft with slug taken: {kinds:?}");
        expected.push(other[0].clone());
        expected.sort();
        assert_eq!(kinds, expected);

        for request in &received {
            assert!(
                verifies(request, &secret),
                "bad signature: {:?}",
                request.headers
            );
            assert_eq!(request.header("content-type"), "application/json");
            assert!(request.header("user-agent").starts_with("Folio-Webhooks/"));
            let sent_at: i64 = request.header("webhook-timestamp").parse().unwrap();
            assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60);
        }
        let ids: std::collections::HashSet<&str> =
            received.iter().map(|r| r.header("webhook-id")).collect();
        assert_eq!(ids.len(), received.len(), "each event once");

        // The article's data is what an admin's read returned.
        let creation = received
            .iter()
            .find(|r| r.json()["type"] == "article.created" && r.json()["data"]["id"] == id)
            .unwrap();
        assert_eq!(creation.json()["data"], article);
        let gone = received
            .iter()
            .find(|r| r.json()["type"] == "article.deleted")
            .unwrap();
        assert_eq!(gone.json()["data"], json!({"id": id, "slug": "hooked"}));
    })
    .await;
}

#[actix_web::test]
async fn a_failing_receiver_gets_retries_with_growing_gaps_until_it_answers() {
    on_each_backend(|backend| async move {
        let app = spawn(backend, quick).await;
        let admin = app.user(Role::Admin).await;
        let receiver = Receiver::start(&[
            Answer::Status(500),
            Answer::Status(502),
            Answer::Status(500),
            Answer::Status(200),
        ]);
        let created = register(&app, &admin.token, &receiver.url(), &["tag.created"]).await;
        let id = created.body["id"].as_i64().unwrap();
        let delivery = ping(&app, &admin.token, id).await;

        let received = receiver.wait_for(4).await;
        assert_eq!(received.len(), 4);
        assert!(
            received
                .iter()
                .all(|r| r.header("webhook-id") == delivery.body["message_id"])
        );
        let gaps: Vec<Duration> = received.windows(2).map(|w| w[1].at - w[0].at).collect();
        // Waits of 50–100, 100–200 and 200–400 ms (half fixed, half random).
        assert!(gaps[2] > gaps[0], "gaps grow: {gaps:?}");
        assert!(gaps[0] >= Duration::from_millis(50), "{gaps:?}");

        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        let log = read(
            &app,
            &admin.token,
            &format!("/api/v1/webhooks/{id}/deliveries"),
        )
        .await;
        let entry = &log.body["data"][0];
        assert_eq!(entry["status"], "delivered", "{}", log.body);
        assert_eq!(entry["attempts"], 4);
        assert_eq!(entry["last_attempt"]["response_status"], 200);
        let webhook = read(&app, &admin.token, &format!("/api/v1/webhooks/{id}")).await;
        assert_eq!(webhook.body["breaker"], "closed");
        assert_eq!(webhook.body["consecutive_failures"], 0);
    })
    .await;
}

#[actix_web::test]
async fn a_dead_receiver_opens_the_breaker_and_its_backlog_drains_in_order_once_back() {
    on_each_backend(|backend| async move {
        let app = spawn(backend, |c| {
            quick(c);
            c.webhook_retry_base_ms = 20;
            c.webhook_breaker_cooldown_ms = 1_500;
        })
        .await;
        let admin = app.user(Role::Admin).await;
        let receiver = Receiver::start(&[Answer::Status(503)]);
        let created = register(&app, &admin.token, &receiver.url(), &["tag.created"]).await;
        let id = created.body["id"].as_i64().unwrap();
        let first = ping(&app, &admin.token, id).await.body["message_id"].clone();

        // Five failures in a row open the breaker; nothing is attempted while it is open.
        receiver.wait_for(5).await;
        let path = format!("/api/v1/webhooks/{id}");
        let mut webhook = read(&app, &admin.token, &path).await;
        for _ in 0..100 {
            if webhook.body["breaker"] == "open" {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
            webhook = read(&app, &admin.token, &path).await;
        }
        assert_eq!(webhook.body["breaker"], "open", "{}", webhook.body);
        assert_eq!(webhook.body["consecutive_failures"], 5);
        let second = ping(&app, &admin.token, id).await.body["message_id"].clone();
        let third = ping(&app, &admin.token, id).await.body["message_id"].clone();
        let while_open = receiver.received().len();
        assert_eq!(while_open, 5);
        actix_web::rt::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(receiver.received().len(), 5, "attempts while open");

        // The receiver comes back: the half-open probe succeeds and the backlog drains in order.
        receiver.answer_next(&[Answer::Status(200)]);
        let received = receiver.wait_for(8).await;
        assert_eq!(received.len(), 8);
        let order: Vec<&str> = received[5..]
            .iter()
            .map(|r| r.header("webhook-id"))
            .collect();
        assert_eq!(
            order,
            [&first, &second, &third].map(|v| v.as_str().unwrap())
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        let webhook = read(&app, &admin.token, &format!("/api/v1/webhooks/{id}")).await;
        assert_eq!(webhook.body["breaker"], "closed");
        let log = read(
            &app,
            &admin.token,
            &format!("/api/v1/webhooks/{id}/deliveries?status=delivered"),
        )
        .await;
        assert_eq!(
            log.body["data"].as_array().unwrap().len(),
            3,
            "{}",
            log.body
        );
        assert_eq!(log.body["data"][2]["attempts"], 6);
    })
    .await;
}

#[actix_web::test]
async fn a_hanging_receiver_times_out_without_holding_up_another() {
    on_each_backend(|backend| async move {
        let app = spawn(backend, quick).await;
        let admin = app.user(Role::Admin).await;
        let hanging = Receiver::start(&[Answer::Hang(Duration::from_secs(5))]);
        let healthy = Receiver::start(&[Answer::Status(200)]);
        let slow = register(&app, &admin.token, &hanging.url(), &["tag.created"]).await;
        register(&app, &admin.token, &healthy.url(), &["tag.created"]).await;
        let tag = app
            .send(
                Method::POST,
                "/api/v1/tags",
                Some(&admin.token),
                Some(json!({"name": "Both"})),
                None,
            )
            .await;
        assert_eq!(tag.status, StatusCode::CREATED);
        assert_eq!(healthy.wait_for(1).await.len(), 1);
        // The other delivery is still waiting for its answer: nothing of it is recorded yet.
        let id = slow.body["id"].as_i64().unwrap();
        let deliveries = format!("/api/v1/webhooks/{id}/deliveries");
        let during = read(&app, &admin.token, &deliveries).await;
        assert_eq!(hanging.wait_for(1).await.len(), 1);
        assert_eq!(
            during.body["data"][0]["last_attempt"],
            Value::Null,
            "{}",
            during.body
        );

        actix_web::rt::time::sleep(Duration::from_millis(1_300)).await;
        let log = read(
            &app,
            &admin.token,
            &format!("/api/v1/webhooks/{id}/deliveries"),
        )
        .await;
        let entry = &log.body["data"][0];
        assert_eq!(entry["status"], "pending", "{}", log.body);
        assert_eq!(
            entry["last_attempt"]["error"],
            "no answer within the timeout"
        );
    })
    .await;
}

#[actix_web::test]
async fn a_rotated_secret_signs_beside_the_new_one() {
    on_each_backend(|backend| async move {
        let app = spawn(backend, quick).await;
        let admin = app.user(Role::Admin).await;
        let receiver = Receiver::start(&[Answer::Status(200)]);
        let created = register(&app, &admin.token, &receiver.url(), &["tag.created"]).await;
        let id = created.body["id"].as_i64().unwrap();
        let old = created.body["secret"].as_str().unwrap().to_owned();
        let rotated = app
            .send(
                Method::POST,
                &format!("/api/v1/webhooks/{id}/rotate-secret"),
                Some(&admin.token),
                None,
                None,
            )
            .await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
        let new = rotated.body["secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        let shown = read(&app, &admin.token, &format!("/api/v1/webhooks/{id}")).await;
        assert!(shown.body.get("secret").is_none(), "{}", shown.body);

        ping(&app, &admin.token, id).await;
        let received = receiver.wait_for(1).await;
        let request = &received[0];
        assert_eq!(request.header("webhook-signature").split(' ').count(), 2);
        assert!(verifies(request, &new) && verifies(request, &old));
        assert_eq!(request.json()["type"], "ping");
    })
    .await;
}

#[actix_web::test]
async fn private_addresses_are_refused_unless_allowed_and_only_admins_manage_webhooks() {
    on_each_backend(|backend| async move {
        let app = spawn(backend, |_| {}).await;
        let admin = app.user(Role::Admin).await;
        let editor = app.user(Role::Editor).await;
        for url in [
            "http://127.0.0.1/hook",
            "http://10.0.0.1/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:127.0.0.1]/hook",
            "http://localhost:8080/hook",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
        ] {
            let refused = register(&app, &admin.token, url, &["tag.created"]).await;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{url}: {}",
                refused.body
            );
            assert_eq!(
                refused.body["errors"][0]["field"], "url",
                "{}",
                refused.body
            );
        }
        let ftp = register(&app, &admin.token, "ftp://example.com/", &["tag.created"]).await;
        assert_eq!(ftp.status, StatusCode::UNPROCESSABLE_ENTITY);
        let unknown = register(
            &app,
            &admin.token,
            "http://93.184.216.34/hook",
            &["article.exploded", "tag.created"],
        )
        .await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            unknown.body.to_string().contains("article.exploded"),
            "{}",
            unknown.body
        );
        let forbidden = register(&app, &editor.token, "http://127.0.0.1/", &["tag.created"]).await;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
        let listing = app
            .send(
                Method::GET,
                "/api/v1/webhooks",
                Some(&editor.token),
                None,
                None,
            )
            .await;
        assert_eq!(listing.status, StatusCode::FORBIDDEN);

        let allowed = spawn(backend, quick).await;
        let admin = allowed.user(Role::Admin).await;
        let accepted = register(
            &allowed,
            &admin.token,
            "http://127.0.0.1:9/hook",
            &["tag.created"],
        )
        .await;
        assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
    })
    .await;
}

#[actix_web::test]
async fn an_event_written_in_a_transaction_that_rolls_back_is_never_sent() {
    use folio::service::webhooks::events::{self, EventType, Subject};
    on_each_backend(|backend| async move {
        let app = spawn(backend, quick).await;
        let admin = app.user(Role::Admin).await;
        let receiver = Receiver::start(&[Answer::Status(200)]);
        let hook = register(&app, &admin.token, &receiver.url(), &["tag.updated"]).await;
        let hook = hook.body["id"].as_i64().unwrap();
        let tag = app
            .send(
                Method::POST,
                "/api/v1/tags",
                Some(&admin.token),
                Some(json!({"name": "Kept"})),
                None,
            )
            .await;
        let tag = tag.body["id"].as_i64().unwrap();

        // The outbox rows share the transaction of the change that makes them.
        let mut conn = app.connect();
        let rolled_back = folio::db::write_transaction(&mut conn, |conn| {
            events::enqueue(conn, vec![(EventType::TagUpdated, Subject::Tag(tag))])?;
            Err::<(), _>(folio::error::AppError::Contended)
        });
        assert!(rolled_back.is_err());
        folio::db::write_transaction(&mut conn, |conn| {
            events::enqueue(conn, vec![(EventType::TagUpdated, Subject::Tag(tag))])
        })
        .unwrap();

        let received = receiver.wait_for(1).await;
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.received().len(), 1, "{received:?}");
        let log = read(
            &app,
            &admin.token,
            &format!("/api/v1/webhooks/{hook}/deliveries"),
        )
        .await;
        assert_eq!(
            log.body["data"].as_array().unwrap().len(),
            1,
            "{}",
            log.body
        );
    })
    .await;
}

#[actix_web::test]
async fn a_delivery_never_connects_to_a_private_address_even_if_one_was_stored() {
    on_each_backend(|backend| async move {
        let app = spawn(backend, |c| {
            c.webhook_retry_base_ms = 100;
            c.webhook_timeout_ms = 1_000;
        })
        .await;
        let admin = app.user(Role::Admin).await;
        let receiver = Receiver::start(&[Answer::Status(200)]);
        // As if the name had resolved to a public address when it was registered.
        let now = folio::db::now();
        let stored = folio::db::webhooks::insert(
            &mut app.connect(),
            &folio::db::webhooks::NewWebhook {
                url: &receiver.url(),
                events: "tag.created",
                description: "",
                active: true,
                secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                version: 1,
                created_at: now,
                updated_at: now,
                consecutive_failures: 0,
                breaker_cooldown_ms: 0,
            },
        )
        .unwrap();
        ping(&app, &admin.token, stored.id).await;

        let deliveries = format!("/api/v1/webhooks/{}/deliveries", stored.id);
        let mut error = Value::Null;
        for _ in 0..100 {
            let log = read(&app, &admin.token, &deliveries).await;
            error = log.body["data"][0]["last_attempt"]["error"].clone();
            if !error.is_null() {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            error.as_str().is_some_and(|e| e.contains("loopback")),
            "{error}"
        );
        assert!(receiver.received().is_empty());
    })
    .await;
}
