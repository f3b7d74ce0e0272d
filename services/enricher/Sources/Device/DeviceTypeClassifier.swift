// Maps a uap-core parse to mobile / tablet / desktop / bot. uap-core itself has
// no such notion, so this is a small set of heuristics, checked in order:
//
// 1. bot     the device family is "Spider", uap-core's marker for crawlers,
//            monitors and other automated clients.
// 2. desktop a TV, set-top box or game console: the device family starts with
//            one of `nonHandheldFamilies` (HbbTV, NetCast, AppleTV, PlayStation 4,
//            Xbox...) or the UA has a TV token (`tvTokens`: SMART-TV, HbbTV,
//            CrKey, Android TV...). The type has no case for them and they are
//            not handheld; checked early so that their "Mobile"-free Android or
//            Linux UAs read neither as tablets nor as phones.
// 3. tablet  the device family, model or brand names a tablet ("iPad",
//            "Kindle", "Generic Tablet", "Generic_Android_Tablet", "Galaxy Tab",
//            "MI PAD", "PlayBook", "Xoom");
//            or the UA has a "Tablet" token (Firefox for Android, Windows RT;
//            "Tablet PC", a Windows desktop feature, doesn't count);
//            or the OS is Android and a browser UA (AppleWebKit/Gecko) has no
//            "Mobile" token, which is how Android browsers mark tablets.
// 4. mobile  iPhone/iPod; a phone OS (iOS, Android, Windows Phone, BlackBerry,
//            Symbian, KaiOS, ...); a "Mobi"/"Phone"/"MIDP"/"Opera Mini" token
//            in the UA; or any device family uap-core recognised at all other
//            than "Other" and "Mac" (its device list is overwhelmingly phones
//            and feature phones).
// 5. desktop everything else: Windows, macOS, Linux, ChromeOS, unknown.

enum DeviceTypeClassifier {
    /// Whether `text` contains `fragment`, byte for byte (cheaper than
    /// Foundation's locale-aware `contains`).
    static func has(_ text: String, _ fragment: String) -> Bool {
        var text = text, fragment = fragment
        return text.withUTF8 { haystack in
            fragment.withUTF8 { needle in
                UAPrefilterTable.contains(UnsafeRawBufferPointer(needle), in: UnsafeRawBufferPointer(haystack))
            }
        }
    }

    static func classify(
        userAgent: String,
        os: UserAgentParser.OperatingSystem,
        device: UserAgentParser.Device
    ) -> DeviceType {
        let family = device.family
        if family == "Spider" { return .bot }
        if nonHandheldFamilies.contains(where: { family.hasPrefix($0) }) { return .desktop }
        if tvTokens.contains(where: { has(userAgent, $0) }) { return .desktop }
        if isTablet(userAgent: userAgent, os: os, device: device) { return .tablet }
        if isMobile(userAgent: userAgent, os: os, device: device) { return .mobile }
        return .desktop
    }

    /// Lower-cased fragments of device families, models and brands that are tablets.
    static let tabletNames = ["ipad", "tablet", "kindle", "playbook", "xoom", "galaxy tab", " pad"]

    /// Device family prefixes of TVs, set-top boxes and consoles.
    static let nonHandheldFamilies = [
        "HbbTV", "NetCast", "Inettv", "AppleTV", "GoogleTV", "WebTV", "Chromecast", "Roku",
        "PlayStation 3", "PlayStation 4", "PlayStation 5", "Xbox", "Nintendo Wii", "Nintendo Switch",
        "Sega Dreamcast",
    ]

    /// UA tokens of smart TVs and streaming sticks.
    static let tvTokens = [
        "SMART-TV", "SmartTV", "Smart-TV", "SMART TV", "HbbTV", "CrKey", "GoogleTV", "Android TV",
        "AndroidTV", "AppleTV", "BRAVIA", "NetCast", "Web0S", "webOS.TV", "Roku",
    ]

    static let mobileOSFamilies: Set<String> = [
        "iOS", "Android", "Windows Phone", "Windows Mobile", "Windows CE", "BlackBerry OS",
        "BlackBerry Tablet OS", "Symbian OS", "Symbian^3", "Symbian^3 Anna", "Symbian^3 Belle",
        "KaiOS", "Firefox OS", "webOS", "Bada", "MeeGo", "Maemo", "Sailfish", "Ubuntu Touch", "HarmonyOS",
    ]

    /// Device families that say nothing about being handheld.
    static let desktopFamilies: Set<String> = ["Other", "Mac"]

    static func isTablet(userAgent: String, os: UserAgentParser.OperatingSystem, device: UserAgentParser.Device) -> Bool {
        let names = [device.family, device.model ?? "", device.brand ?? ""].joined(separator: "\n").lowercased()
        if tabletNames.contains(where: { has(names, $0) }) { return true }
        if has(userAgent, "Tablet"), !has(userAgent, "Tablet PC") { return true }
        if os.family == "Android", !has(userAgent, "Mobile"), has(userAgent, "AppleWebKit") || has(userAgent, "Gecko") {
            return true
        }
        return false
    }

    static func isMobile(userAgent: String, os: UserAgentParser.OperatingSystem, device: UserAgentParser.Device) -> Bool {
        if device.family.hasPrefix("iPhone") || device.family.hasPrefix("iPod") { return true }
        if mobileOSFamilies.contains(os.family) { return true }
        if ["Mobi", "Phone", "MIDP", "Opera Mini"].contains(where: { has(userAgent, $0) }) { return true }
        return !desktopFamilies.contains(device.family)
    }
}
