//! The indicators' words in English and Thai: the page's, and each indicator's name and
//! formula.

/// The page's words, English then Thai.
pub fn t(th: bool, key: &str) -> &'static str {
    let (en, thai) = match key {
        "title" => ("Indicators", "ตัวชี้วัด"),
        "area" => ("Where", "พื้นที่"),
        "nation" => ("The whole country", "ทั้งประเทศ"),
        "region" => ("Region", "ภาค"),
        "period" => ("Month or quarter", "เดือนหรือไตรมาส"),
        "show" => ("Show", "แสดง"),
        "csv" => (
            "Export CSV (cells under 5 people suppressed)",
            "ส่งออก CSV (ช่องที่มีน้อยกว่า 5 คนถูกซ่อน)",
        ),
        "figure" => ("Indicator", "ตัวชี้วัด"),
        "value" => ("Figure", "ค่า"),
        "from" => ("From", "จาก"),
        "formula" => ("How it is counted", "วิธีคำนวณ"),
        "provisional" => ("Provisional", "เบื้องต้น"),
        "final" => (
            "These figures are final: the period is over, its attendance can no longer be marked, and no facility has changes waiting to arrive here.",
            "ตัวเลขเหล่านี้เป็นตัวเลขสุดท้าย: ช่วงเวลาสิ้นสุดแล้ว ไม่สามารถบันทึกการเข้าเรียนเพิ่มได้ และไม่มีรายการจากเรือนจำใดรอส่งมาที่นี่",
        ),
        "days_held" => ("days held", "วันที่ถูกคุมขัง"),
        "provisional_head" => (
            "These figures are provisional and may still change:",
            "ตัวเลขเหล่านี้เป็นตัวเลขเบื้องต้นและอาจเปลี่ยนแปลง:",
        ),
        "not_over" => ("the period is not over yet", "ช่วงเวลานี้ยังไม่สิ้นสุด"),
        "waiting" => (
            "changes wait at the facility, not yet at the hub:",
            "มีรายการรอที่เรือนจำ ยังไม่ถึงศูนย์กลาง:",
        ),
        "as_of" => ("as it reported at", "ตามที่รายงานเมื่อ"),
        "not_heard" => (
            "the facility's gateway is not connected; changes made since it was last heard from may not be here:",
            "เกตเวย์ของเรือนจำไม่ได้เชื่อมต่อ รายการหลังการติดต่อครั้งล่าสุดอาจยังมาไม่ถึง:",
        ),
        "never_heard" => ("never heard from", "ไม่เคยติดต่อ"),
        "last_heard" => ("last heard from", "ติดต่อครั้งล่าสุด"),
        "window" => (
            "attendance can still be marked up to and including",
            "ยังบันทึกการเข้าเรียนได้จนถึงวันที่",
        ),
        "facilities" => ("Facilities compared", "เปรียบเทียบเรือนจำ"),
        "programmes" => ("By programme", "แยกตามหลักสูตร"),
        "programme" => ("Programme", "หลักสูตร"),
        "enrolled" => ("People enrolled", "ผู้ลงทะเบียน"),
        "health" => (
            "Health programmes (together; who attends is never shown)",
            "หลักสูตรด้านสุขภาพ (รวมกัน ไม่แสดงผู้เข้าร่วม)",
        ),
        "referrals" => (
            "Referrals by partner and service",
            "การส่งต่อแยกตามหน่วยงานและบริการ",
        ),
        "partner" => ("Partner", "หน่วยงาน"),
        "service" => ("Service", "บริการ"),
        "made" => ("Made", "ส่งต่อ"),
        "accepted" => ("Accepted", "รับแล้ว"),
        "completed" => ("Completed", "เสร็จสิ้น"),
        "median_days" => ("Median days to a decision", "ค่ามัธยฐานวันจนได้คำตอบ"),
        "trend" => ("The last 12 months", "12 เดือนที่ผ่านมา"),
        "month" => ("Month", "เดือน"),
        "none" => ("Nothing recorded in this period.", "ไม่มีข้อมูลในช่วงเวลานี้"),
        "people" => ("people", "คน"),
        "small" => (
            "fewer than 5 people: suppressed in exports",
            "น้อยกว่า 5 คน: ซ่อนเมื่อส่งออก",
        ),
        "per_week" => ("hours per person per week", "ชั่วโมงต่อคนต่อสัปดาห์"),
        "hours" => ("hours", "ชั่วโมง"),
        _ => ("", ""),
    };
    if th { thai } else { en }
}

/// An indicator's name and formula, English then Thai.
pub fn label(th: bool, code: &str) -> (&'static str, &'static str) {
    let (name, formula, name_th, formula_th) = match code {
        "activity_hours" => (
            "Purposeful activity",
            "attended session hours ÷ people held on average ÷ weeks (hours × 7 ÷ days held)",
            "กิจกรรมที่เป็นประโยชน์",
            "ชั่วโมงที่เข้าร่วม ÷ จำนวนผู้ต้องขังเฉลี่ย ÷ จำนวนสัปดาห์",
        ),
        "engagement" => (
            "Engagement",
            "people with an active enrolment ÷ people held, month by month",
            "การมีส่วนร่วม",
            "ผู้ที่ลงทะเบียนอยู่ ÷ ผู้ต้องขัง รายเดือน",
        ),
        "places_filled" => (
            "Places filled",
            "places allocated ÷ places offered, on runs in the period",
            "ที่นั่งที่ใช้",
            "ที่นั่งที่จัดสรร ÷ ที่นั่งทั้งหมด",
        ),
        "attendance" => (
            "Attendance",
            "attended ÷ marks, sessions cancelled left out",
            "อัตราการเข้าเรียน",
            "เข้าเรียน ÷ การบันทึกทั้งหมด ไม่นับคาบที่ยกเลิก",
        ),
        "unacceptable_absence" => (
            "Unacceptable absence",
            "(refused + absent without a reason) ÷ marks",
            "การขาดโดยไม่มีเหตุผล",
            "(ปฏิเสธ + ขาดโดยไม่มีเหตุผล) ÷ การบันทึกทั้งหมด",
        ),
        "completion" => (
            "Completion",
            "completed ÷ enrolments ended by completion, the person's or staff's choice (release and transfer left out)",
            "การจบหลักสูตร",
            "จบหลักสูตร ÷ การลงทะเบียนที่สิ้นสุด (ไม่นับการปล่อยตัวและการย้าย)",
        ),
        "referrals_accepted" => (
            "Referrals accepted",
            "accepted ÷ referrals made in the period",
            "การส่งต่อที่ได้รับ",
            "ได้รับ ÷ การส่งต่อในช่วงเวลา",
        ),
        "referrals_completed" => (
            "Referrals completed",
            "completed ÷ referrals made in the period",
            "การส่งต่อที่เสร็จสิ้น",
            "เสร็จสิ้น ÷ การส่งต่อในช่วงเวลา",
        ),
        "release_accommodation" => (
            "Released with accommodation arranged",
            "released with the plan's accommodation done on the day ÷ released",
            "ปล่อยตัวพร้อมที่พัก",
            "ผู้ได้รับการปล่อยตัวที่มีที่พัก ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_employment" => (
            "Released with work, education or training arranged",
            "released with employment, education or training done on the day ÷ released",
            "ปล่อยตัวพร้อมงานหรือการศึกษา",
            "ผู้ได้รับการปล่อยตัวที่มีงาน/การศึกษา ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_id_documents" => (
            "Released with ID documents",
            "released with ID documents done on the day ÷ released",
            "ปล่อยตัวพร้อมเอกสารประจำตัว",
            "มีเอกสารประจำตัว ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_finance" => (
            "Released with finance arranged",
            "released with finance done on the day ÷ released",
            "ปล่อยตัวพร้อมการเงิน",
            "มีการจัดการการเงิน ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_family" => (
            "Released with family contact arranged",
            "released with family done on the day ÷ released",
            "ปล่อยตัวพร้อมการติดต่อครอบครัว",
            "มีการติดต่อครอบครัว ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_health_handover" => (
            "Released with a health handover",
            "released with the health handover done on the day ÷ released",
            "ปล่อยตัวพร้อมการส่งต่อสุขภาพ",
            "มีการส่งต่อสุขภาพ ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "first_night_settled" => (
            "First night: a settled home",
            "released to settled accommodation ÷ released",
            "คืนแรก: ที่พักถาวร",
            "ที่พักถาวร ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "first_night_temporary" => (
            "First night: temporary accommodation",
            "released to temporary accommodation ÷ released",
            "คืนแรก: ที่พักชั่วคราว",
            "ที่พักชั่วคราว ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "first_night_none" => (
            "First night: no accommodation",
            "released with nowhere to stay ÷ released",
            "คืนแรก: ไม่มีที่พัก",
            "ไม่มีที่พัก ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "followed_up" => (
            "Followed up six weeks after release",
            "released people whose six-week follow-up is recorded ÷ released",
            "ติดตามผล 6 สัปดาห์หลังปล่อยตัว",
            "ผู้ที่บันทึกการติดตามผลแล้ว ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "settled_6w" => (
            "In settled accommodation six weeks on",
            "in settled accommodation at the follow-up ÷ followed up",
            "มีที่พักถาวรหลัง 6 สัปดาห์",
            "มีที่พักถาวร ÷ ผู้ที่ติดตามผลแล้ว",
        ),
        "housed_6w" => (
            "Housed six weeks on",
            "in settled or temporary accommodation at the follow-up ÷ followed up",
            "มีที่พักหลัง 6 สัปดาห์",
            "มีที่พักถาวรหรือชั่วคราว ÷ ผู้ที่ติดตามผลแล้ว",
        ),
        "ete_6w" => (
            "In work, education or training six weeks on",
            "in employment, education or training at the follow-up ÷ followed up",
            "มีงานหรือการศึกษาหลัง 6 สัปดาห์",
            "มีงาน การศึกษา หรือการฝึกอบรม ÷ ผู้ที่ติดตามผลแล้ว",
        ),
        "hours_attended" => (
            "Hours attended",
            "session hours attended",
            "ชั่วโมงที่เข้าเรียน",
            "ชั่วโมงที่เข้าเรียน",
        ),
        _ => ("", "", "", ""),
    };
    if th {
        (name_th, formula_th)
    } else {
        (name, formula)
    }
}
