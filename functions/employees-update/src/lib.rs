//! `POST /api/v1/employees/update`: changes an employee record.
//!
//! `id` and `email` are required; every other field is left as it is when absent and
//! cleared when `null`. The updated record is returned in `view`. The caller must hold at
//! least the employee's permissions wherever the employee holds a role (the route acts on
//! `id`). Deactivating an employee ends all of their sessions; moving their address ends
//! their reset token and notifies both addresses.

use planoauth::domain::{AddressChanges, Email, EmployeeChanges, Patch};
use planoauth::mail::Mailer;
use planoauth::params::{Fields, Invalid, Param, Params};
use planoauth::routes::{self, Route};
use planoauth::store::{Db, ItemKey};
use planoauth::use_cases::{employee_update_reads, update_employee};
use planoauth::values::{IsoDate, Latitude, Longitude, Phone, RecordId, Skills, Text};
use planoauth::view::{Show, View};
use planoauth::{ApiError, Ctx, Endpoint, Reply};
use serde_json::Value;

pub struct EmployeesUpdate {
    /// Sends the security notices of an address change.
    pub mailer: Mailer,
}

impl Endpoint for EmployeesUpdate {
    const ROUTE: Route = routes::EMPLOYEES_UPDATE;

    fn read_ahead(&self, db: &Db, params: &Params) -> Option<ItemKey> {
        let id = RecordId::from_value(params.remaining().get("id")?.clone()).ok()?;
        Some(employee_update_reads(db, id.0))
    }

    async fn handle(&self, ctx: &Ctx<'_>, mut params: Params) -> Result<Reply, ApiError> {
        let id = params.required::<RecordId>("id")?.0;
        let email = params.required::<Email>("email")?;
        let view = params.optional::<View>("view")?.unwrap_or_default();
        let changes = EmployeeChanges {
            active: match params.patch::<bool>("active")? {
                Patch::Clear => {
                    return Err(ApiError::invalid(
                        "active",
                        "must be true or false, not null",
                    ));
                }
                patch => patch.as_set().copied(),
            },
            service_area_id: params.patch::<RecordId>("service_area_id")?.map(|id| id.0),
            first_name: text(params.patch("first_name")?),
            last_name: text(params.patch("last_name")?),
            legal_name: text(params.patch("legal_name")?),
            skills: params.patch::<Skills>("skills")?.map(|skills| skills.0),
            phone: params.patch::<Phone>("phone")?.map(|phone| phone.0),
            address: match params.patch::<AddressParam>("address")? {
                Patch::Unchanged => AddressChanges::default(),
                Patch::Clear => AddressChanges::clear_all(),
                Patch::Set(address) => address.0,
            },
            date_hired: date(params.patch("date_hired")?),
            date_off_boarded: date(params.patch("date_off_boarded")?),
        };
        params.finish()?;

        let employee = update_employee(ctx, &self.mailer, id, &email, &changes).await?;
        Ok(Reply::data(employee.show(view)))
    }
}

/// The `address` hash: each field follows the same absent/null/value rule as the record.
struct AddressParam(AddressChanges);

impl Param for AddressParam {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        Fields::from_value(value)?.read(|fields| {
            Ok(AddressParam(AddressChanges {
                street: text(fields.patch("street")?),
                street2: text(fields.patch("street2")?),
                city: text(fields.patch("city")?),
                state: text(fields.patch("state")?),
                postal_code: text(fields.patch("postal_code")?),
                longitude: fields.patch::<Longitude>("longitude")?.map(|l| l.0),
                latitude: fields.patch::<Latitude>("latitude")?.map(|l| l.0),
            }))
        })
    }
}

fn text(patch: Patch<Text>) -> Patch<String> {
    patch.map(|text| text.0)
}

fn date(patch: Patch<IsoDate>) -> Patch<String> {
    patch.map(|date| date.as_str().to_owned())
}
