/*
 * errors.js: every error the page meets, kept in window.pdbErrors (uncaught
 * errors, rejected promises, console.error, and what the vector map
 * reports: vector.js), so that a test in headless Chromium can require
 * none. Loaded first; changes nothing a user sees.
 */
(function () {
    'use strict';
    var errors = window.pdbErrors = [];
    window.addEventListener('error', function (e) {
        errors.push('error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || 'unknown'));
    }, true);
    window.addEventListener('unhandledrejection', function (e) {
        errors.push('rejection: ' + (e.reason && e.reason.message ? e.reason.message : String(e.reason)));
    });
    var original = console.error;
    console.error = function () {
        errors.push('console: ' + Array.prototype.map.call(arguments, String).join(' '));
        return original.apply(console, arguments);
    };
})();
